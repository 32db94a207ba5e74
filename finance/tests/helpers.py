"""What the finance tests share besides fixtures: declaring the demo payments, and uploading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rest_framework.test import APIClient

from declarations.intake import examples
from declarations.tests.helpers import Send, document, url

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

SETTLEMENTS = "/api/v1/finance/settlements"
DAY = "2026-11-25"


def declare_payment(send: Send, *, transaction_id: str, order_no: str, amount: str, pay_time: str) -> None:
    """The demo order ``order_no`` (platform ``ebp``, seller ``ebc``) and ``pay``'s payment of it."""
    order = send("order", order_no=order_no)
    assert order.status_code == 201, order.content
    payment = send(
        "payment", pay_transaction_id=transaction_id, order_no=order_no, amount_paid=amount, pay_time=pay_time
    )
    assert payment.status_code == 201, payment.content


@dataclass(frozen=True)
class DemoPayments:
    """T1, T2, T3 of ``pay``; OTHER1 of another payment company, for the order of T1."""

    @classmethod
    def declare(cls, *, send: Send, other: APIClient, other_code: str) -> DemoPayments:
        declare_payment(send, transaction_id="T1", order_no="O1", amount="445.13", pay_time="20261125101530")
        declare_payment(send, transaction_id="T2", order_no="O2", amount="100.00", pay_time="20261125113000")
        declare_payment(send, transaction_id="T3", order_no="O3", amount="50.00", pay_time="20261125150000")
        theirs = document(
            "payment",
            pay_code=other_code,
            pay_name="Other Pay Ltd",
            pay_transaction_id="OTHER1",
            order_no="O1",
            amount_paid="445.13",
            pay_time="20261125120000",
        )
        response = other.post(url("payment"), theirs, format="json")
        assert response.status_code == 201, response.content
        return cls()


def row(
    transaction_id: str, order_no: str, amount: str, currency: str = "142", paid_at: str = "20261125101530"
) -> dict[str, Any]:
    return {
        "pay_transaction_id": transaction_id,
        "order_no": order_no,
        "amount": amount,
        "currency": currency,
        "paid_at": paid_at,
    }


def upload_json(client: APIClient, rows: list[dict[str, Any]], **headers: Any) -> ApiResponse:
    body = {"period_start": DAY, "period_end": DAY, "rows": rows}
    return client.post(SETTLEMENTS, body, format="json", **headers)


def csv_text(rows: list[dict[str, Any]]) -> str:
    lines = ["pay_transaction_id,order_no,amount,currency,paid_at"]
    lines += [
        ",".join(str(r[c]) for c in ("pay_transaction_id", "order_no", "amount", "currency", "paid_at")) for r in rows
    ]
    return "\n".join(lines) + "\n"


PAY_CODE = examples.PAYMENT["pay_code"]
