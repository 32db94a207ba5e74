"""The finance API as a guarantor uses it: its guarantee account and its monthly tax
statement (JSON and CSV); nobody else reads either."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from core.audit import Actor
from finance import bills, guarantees
from single_window.models import Role
from tests.factories import Persona, assert_problem, persona

CST = ZoneInfo("Asia/Shanghai")
GUARANTOR = "3301960005"

pytestmark = pytest.mark.django_db


@pytest.fixture
def guarantor(db: None) -> Persona:
    return persona(customs_code=GUARANTOR, roles=[Role.AGENT], name="杭州示例报关有限公司")


def bill(tax_no: str, vat: str, issued: datetime.datetime, *, assure: str = GUARANTOR) -> None:
    bills.bill_receive(
        facts=bills.BillFacts(
            message_guid=f"GUID-{tax_no}",
            tax_no=tax_no,
            invt_no=f"2901{tax_no[-14:]}",
            status="1",
            ent_duty_no="",
            customs_tax=Decimal(0),
            value_added_tax=Decimal(vat),
            consumption_tax=Decimal(0),
            issued_at=issued,
            note="",
            assure_code=assure,
            ebc_code="3301960002",
            logistics_code="",
            agent_code=GUARANTOR,
            customs_code="2901",
            order_no=f"ORDER-{tax_no}",
            logistics_no="",
            items=(),
        )
    )


def status(tax_no: str, code: str, at: datetime.datetime, ent_duty_no: str = "") -> None:
    bills.status_receive(
        facts=bills.StatusFacts(
            message_guid=f"S-{tax_no}-{code}-{ent_duty_no}",
            tax_no=tax_no,
            invt_no="",
            status=code,
            ent_duty_no=ent_duty_no,
            occurred_at=at,
            assure_code=GUARANTOR,
        )
    )


def test_a_guarantor_reads_its_account(guarantor: Persona, client_for: Callable[[Persona], APIClient]) -> None:
    guarantees.account_create(
        code=GUARANTOR, name="杭州示例报关有限公司", amount=Decimal("500.00"), actor=Actor.system("t"), reason="BG-1"
    )
    bill("TAX00000000000000001", "20.00", datetime.datetime(2026, 11, 3, 10, tzinfo=CST))

    answer = client_for(guarantor).get("/api/v1/finance/guarantees/me")

    assert answer.status_code == 200
    assert {k: answer.json()[k] for k in ("code", "amount", "reserved", "used", "available", "cover_ratio")} == {
        "code": GUARANTOR,
        "amount": "500.00",
        "reserved": "0.00",
        "used": "20.00",
        "available": "480.00",
        "cover_ratio": "1.00",
    }


def test_without_an_account_the_answer_is_404(guarantor: Persona, client_for: Callable[[Persona], APIClient]) -> None:
    assert_problem(client_for(guarantor).get("/api/v1/finance/guarantees/me"), 404, "not_found")


@pytest.fixture
def november(guarantor: Persona) -> None:
    """Two bills in November (one voided, one paid in November), one in October paid in
    November, and another guarantor's bill."""
    bill("TAX00000000000000011", "10.00", datetime.datetime(2026, 11, 1, 0, 30, tzinfo=CST))
    bill("TAX00000000000000012", "20.00", datetime.datetime(2026, 11, 30, 23, 0, tzinfo=CST))
    bill("TAX00000000000000010", "5.00", datetime.datetime(2026, 10, 31, 23, 59, tzinfo=CST))
    bill("TAX00000000000000099", "99.00", datetime.datetime(2026, 11, 5, tzinfo=CST), assure="3301969999")
    status("TAX00000000000000011", "3", datetime.datetime(2026, 11, 10, tzinfo=CST))
    status("TAX00000000000000010", "2", datetime.datetime(2026, 11, 15, tzinfo=CST), "DUTY-1")
    status("TAX00000000000000012", "2", datetime.datetime(2026, 12, 1, tzinfo=CST), "DUTY-2")


@pytest.mark.usefixtures("november")
def test_the_statement_of_a_month_counts_what_customs_did_in_it(
    guarantor: Persona, client_for: Callable[[Persona], APIClient]
) -> None:
    answer = client_for(guarantor).get("/api/v1/finance/statements", {"period": "2026-11"})

    assert answer.status_code == 200
    body = answer.json()
    totals = {name: (t["count"], t["tax_total"]) for name, t in body["totals"].items()}
    assert totals == {
        "issued": (2, "30.00"),
        "summarised": (0, "0.00"),
        "paid": (1, "5.00"),
        "voided": (1, "10.00"),
        "net": (1, "20.00"),
    }
    assert [(line["tax_no"], line["event"]) for line in body["lines"]] == [
        ("TAX00000000000000011", "issued"),
        ("TAX00000000000000011", "voided"),
        ("TAX00000000000000010", "paid"),
        ("TAX00000000000000012", "issued"),
    ]


@pytest.mark.usefixtures("november")
def test_the_statement_downloads_as_csv(guarantor: Persona, client_for: Callable[[Persona], APIClient]) -> None:
    answer = client_for(guarantor).get("/api/v1/finance/statements", {"period": "2026-11"}, HTTP_ACCEPT="text/csv")

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["at", "event", "tax_no"]
    assert [(row[1], row[2], row[9]) for row in rows[1:]] == [
        ("issued", "TAX00000000000000011", "10.00"),
        ("voided", "TAX00000000000000011", "10.00"),
        ("paid", "TAX00000000000000010", "5.00"),
        ("issued", "TAX00000000000000012", "20.00"),
    ]


@pytest.mark.parametrize("period", ["", "2026-13", "2026-1", "November"])
def test_a_bad_period_is_refused_with_its_field(
    period: str, guarantor: Persona, client_for: Callable[[Persona], APIClient]
) -> None:
    body = assert_problem(
        client_for(guarantor).get("/api/v1/finance/statements", {"period": period}),
        400,
        "finance_statement_period_invalid",
    )
    assert body["errors"][0]["field"] == "period"


@pytest.mark.usefixtures("november")
def test_an_outsider_reads_no_statement_and_no_account(client_for: Callable[[Persona], APIClient]) -> None:
    guarantees.account_create(
        code=GUARANTOR, name="担保企业", amount=Decimal("500.00"), actor=Actor.system("t"), reason="BG-1"
    )
    outsider = persona(customs_code="3301968888", roles=[Role.EBC])
    client = client_for(outsider)

    statement = client.get("/api/v1/finance/statements", {"period": "2026-11"}).json()

    assert statement["lines"] == []
    assert statement["totals"]["issued"]["count"] == 0
    assert_problem(client.get("/api/v1/finance/guarantees/me"), 404, "not_found")
    assert APIClient().get("/api/v1/finance/guarantees/me").status_code == 401
