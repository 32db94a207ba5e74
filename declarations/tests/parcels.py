"""Parcels for the matching, quota, concurrency and trace tests: the example's four documents
under their own business keys, for any buyer and any goods, consistent with one another.

``parcel(n)`` is the example parcel with keys of its own (so many parcels live side by side);
``parcel(n, goods=[...])`` replaces the goods on the order and the list alike and works out
the order's figures and the amount paid, so every matching rule holds unless a test breaks one.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from declarations.clearance import lifecycle
from declarations.intake import examples
from declarations.intake.identity import id_number_hash, normalise_id_number, resident_id_check_character
from declarations.models import BuyerYearQuota, Inventory, InventoryStatus, QuotaReservation, RuleResult
from declarations.tests.helpers import Send

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

KINDS = ("order", "payment", "waybill", "inventory")
OTHER_DOCUMENTS = ("order", "payment", "waybill")
BUYER_ID = examples.BUYER_ID
FREIGHT = Decimal("10.00")


def buyer_id(n: int) -> str:
    """A valid resident ID number, different for every ``n`` (and from the example buyer's)."""
    body = f"33010619850101{n:03d}"
    return body + resident_id_check_character(body)


def buyer_hash(id_number: str = BUYER_ID) -> str:
    """The key of the buyer's quota: the lookup hash of the normalised number."""
    return id_number_hash(normalise_id_number(id_number))


@dataclass(frozen=True)
class Goods:
    """One line of the parcel, on the order and on the list."""

    gcode: str
    name: str
    qty: str
    price: str
    # The legal quantity (kilograms) of the whole line.
    qty1: str = "0.8"

    @property
    def total(self) -> Decimal:
        return Decimal(self.price) * Decimal(self.qty)


# Infant formula: on the positive list, duty 0, VAT 13%, no consumption tax.
FORMULA = "1901101000"
# Other infant food: on the positive list, duty 15%, VAT 13%, no consumption tax.
INFANT_FOOD = "1901109000"


def formula(price: str, qty: str = "1") -> Goods:
    return Goods(FORMULA, "婴儿配方奶粉 Infant formula 800g", qty, price)


def _money(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01")), "f")


def _lines(goods: list[Goods]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    order_items, list_items = [], []
    for gnum, line in enumerate(goods, start=1):
        common: dict[str, Any] = {"gnum": gnum, "item_no": f"SKU-{gnum:04d}", "item_name": line.name, "gmodel": "1件"}
        amounts: dict[str, Any] = {
            "qty": line.qty,
            "unit": "007",
            "price": line.price,
            "total_price": _money(line.total),
        }
        order_items.append({**common, **amounts, "currency": "142", "country": "601"})
        list_items.append(
            {
                **common,
                **amounts,
                "gcode": line.gcode,
                "gname": line.name.split(" ")[0],
                "country": "601",
                "currency": "142",
                "qty1": line.qty1,
                "unit1": "035",
            }
        )
    return order_items, list_items


def parcel(n: int, *, goods: list[Goods] | None = None, buyer: str = BUYER_ID) -> dict[str, dict[str, Any]]:
    """The example's four documents with business keys of their own (``n`` from 0 to 9999).

    ``goods`` replaces the items of the order and the list; ``buyer`` is the buyer's (and
    payer's) ID number.
    """
    order_no, pay_no, waybill_no = f"SW2026112590{n:04d}", f"PAY2026112590{n:04d}", f"YT2026112590{n:04d}"
    docs = {kind: examples.document(kind) for kind in KINDS}
    for kind, data in docs.items():
        data["guid"] = f"{KINDS.index(kind) + 1:08d}-0000-4000-8000-{n:012d}"
        data["order_no"] = order_no
    docs["order"]["pay_transaction_id"] = docs["payment"]["pay_transaction_id"] = pay_no
    docs["waybill"]["logistics_no"] = docs["inventory"]["logistics_no"] = waybill_no
    docs["inventory"]["cop_no"] = f"COP2026112590{n:04d}"
    docs["order"]["buyer_id_number"] = docs["inventory"]["buyer_id_number"] = buyer
    docs["payment"]["payer_id_number"] = buyer
    if goods is not None:
        order_items, list_items = _lines(goods)
        goods_value = sum((line.total for line in goods), Decimal(0))
        paid = goods_value + FREIGHT
        docs["order"].update(
            items=order_items,
            goods_value=_money(goods_value),
            freight=_money(FREIGHT),
            discount="0",
            tax_total="0",
            actual_paid=_money(paid),
        )
        docs["payment"]["amount_paid"] = _money(paid)
        docs["inventory"].update(items=list_items, freight=_money(FREIGHT), insured_fee="0")
    return docs


def submit(send: Send, docs: dict[str, dict[str, Any]], arrival: tuple[str, ...] = KINDS) -> dict[str, ApiResponse]:
    """Send the parcel's documents one after another, each by its sender; every one is stored."""
    responses = {}
    for kind in arrival:
        response = send(kind, docs[kind])
        assert response.status_code == 201, (kind, response.content)
        responses[kind] = response
    return responses


def list_of(docs: dict[str, dict[str, Any]]) -> Inventory:
    return Inventory.objects.get(ebp_code=docs["inventory"]["ebp_code"], order_no=docs["inventory"]["order_no"])


def failed_results(inventory: Inventory) -> list[tuple[str, str, str, str, str]]:
    """(rule, field, value on the list, value on the other document, customs code) of each failure."""
    return [
        (r.rule, r.field, r.list_value, r.other_value, r.customs_code)
        for r in RuleResult.objects.filter(inventory=inventory, outcome=RuleResult.Outcome.FAILED).order_by("id")
    ]


def quota(id_number: str = BUYER_ID, year: int = 2026) -> BuyerYearQuota | None:
    return BuyerYearQuota.objects.filter(buyer_id_hash=buyer_hash(id_number), year=year).first()


def reservation(inventory: Inventory) -> QuotaReservation | None:
    return QuotaReservation.objects.filter(inventory=inventory).first()


def receipt(inventory: Inventory, code: str, at: datetime.datetime) -> lifecycle.ReceiptOutcome:
    """A customs receipt (CEB622) of the list, as the gateway applies it."""
    outcome = lifecycle.inventory_apply_receipt(
        inventory=inventory, receipt_code=code, receipt_time=at, message_id=f"RECEIPT-{inventory.pk}-{code}"
    )
    assert outcome.result is lifecycle.ReceiptResult.APPLIED, outcome
    return outcome


def assert_declared(inventory: Inventory) -> None:
    """The list matched (every rule of its last run held), was declared and holds its reservation."""
    inventory.refresh_from_db()
    assert (inventory.status, inventory.waiting_for) == (InventoryStatus.DECLARED, [])
    results = RuleResult.objects.filter(inventory=inventory)
    last_run = max(results.values_list("run", flat=True))
    assert set(results.filter(run=last_run).values_list("outcome", flat=True)) == {RuleResult.Outcome.PASSED}
    held = reservation(inventory)
    assert held is not None
    assert held.state == QuotaReservation.State.RESERVED
