"""Customs' tax bills (CEB816) and their status changes (CEB818), kept by finance.

A bill is stored once per ``taxNo`` with its items, found its list through the hub
(``single_window.declare.list_by_customs_number``), reconciled against the single window's
estimate (each component and each item that differs, with both figures), and charged to its
guarantor's account (``finance.guarantees``). The list's parties and guarantor hear
``inventory.tax_bill``. A bill whose list is not yet known by that number is kept unlinked and
attached by ``bills_link_sweep`` (every minute), which publishes the event then.

A status change is recorded once per message; one for a bill not yet received waits for it.
``2`` (summarised) with a payment notice number, or ``3`` (void), frees what the bill used on
the guarantee. ``3`` is final.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from finance import event_types, guarantees
from finance.models import TaxBill, TaxBillItem, TaxBillStatus, TaxBillStatusChange
from finance.models.bills import GuaranteeEffect
from single_window import selectors as registry
from single_window.declare import CustomsListFacts, list_by_customs_number
from single_window.events import event_publish

COMPONENTS = ("customs_tax", "value_added_tax", "consumption_tax")
# How long an unlinked bill is looked for again before it is left for a regulator.
LINK_HORIZON = datetime.timedelta(days=7)


@dataclass(frozen=True)
class BillItemFacts:
    gnum: int
    gcode: str
    tax_price: Decimal
    customs_tax: Decimal
    value_added_tax: Decimal
    consumption_tax: Decimal


@dataclass(frozen=True)
class BillFacts:
    """One ``Tax`` of a CEB816, as customs sent it."""

    message_guid: str
    tax_no: str
    invt_no: str
    status: str
    ent_duty_no: str
    customs_tax: Decimal
    value_added_tax: Decimal
    consumption_tax: Decimal
    issued_at: datetime.datetime
    note: str
    assure_code: str
    ebc_code: str
    logistics_code: str
    agent_code: str
    customs_code: str
    order_no: str
    logistics_no: str
    items: tuple[BillItemFacts, ...]


@dataclass(frozen=True)
class StatusFacts:
    """One ``Tax`` of a CEB818."""

    message_guid: str
    tax_no: str
    invt_no: str
    status: str
    ent_duty_no: str
    occurred_at: datetime.datetime
    assure_code: str


def _cny(value: Decimal) -> str:
    return str(guarantees.money(value))


def _differences(bill: TaxBill, items: list[TaxBillItem], listing: CustomsListFacts) -> dict[str, Any]:
    estimate = listing.tax
    if estimate is None:
        return {"estimate": "none"}
    found: dict[str, Any] = {
        name: {"estimate": _cny(getattr(estimate, name)), "bill": _cny(getattr(bill, name))}
        for name in COMPONENTS
        if guarantees.money(getattr(bill, name)) != getattr(estimate, name)
    }
    estimated = {line.gnum: line for line in listing.tax_items}
    by_item: dict[str, Any] = {}
    for item in items:
        line = estimated.get(item.gnum)
        if line is None:
            by_item[str(item.gnum)] = {"estimate": None}
            continue
        differing = {
            name: {"estimate": _cny(getattr(line, name)), "bill": _cny(getattr(item, name))}
            for name in COMPONENTS
            if guarantees.money(getattr(item, name)) != getattr(line, name)
        }
        if differing:
            by_item[str(item.gnum)] = differing
    if by_item:
        found["items"] = by_item
    return found


def _link(bill: TaxBill, listing: CustomsListFacts) -> None:
    """Attach the bill to its list: estimate, differences, the list's reservation, the event."""
    items = list(bill.items.all())
    bill.inventory_id = listing.ref.inventory_id
    bill.list_version = listing.ref.version
    bill.cop_no = listing.cop_no
    bill.ebc_code = bill.ebc_code or listing.ebc_code
    bill.ebp_code = listing.ebp_code
    bill.agent_code = bill.agent_code or listing.agent_code
    bill.assure_code = bill.assure_code or listing.assure_code
    bill.logistics_code = bill.logistics_code or listing.logistics_code
    bill.customs_code = bill.customs_code or listing.customs_code
    bill.order_no = bill.order_no or listing.order_no
    if listing.tax is not None:
        bill.estimated_customs_tax = listing.tax.customs_tax
        bill.estimated_value_added_tax = listing.tax.value_added_tax
        bill.estimated_consumption_tax = listing.tax.consumption_tax
        bill.estimated_total = listing.tax.tax_total
    bill.differences = _differences(bill, items, listing)
    bill.save()
    _publish(
        bill, event_types.INVENTORY_TAX_BILL, {"differs_from_estimate": bill.differs, "differences": bill.differences}
    )


def _parties(bill: TaxBill) -> list[Any]:
    found: dict[int, Any] = {}
    for code in (bill.agent_code, bill.ebc_code, bill.assure_code):
        enterprise = registry.enterprise_get_by_code(code=code) if code else None
        if enterprise is not None:
            found.setdefault(enterprise.pk, enterprise)
    return [found[pk] for pk in sorted(found)]


def _publish(bill: TaxBill, event_type: str, extra: dict[str, Any]) -> None:
    payload = {
        "inventory_id": bill.inventory_id,
        "cop_no": bill.cop_no,
        "invt_no": bill.invt_no,
        "ebp_code": bill.ebp_code,
        "order_no": bill.order_no,
        "ebc_code": bill.ebc_code,
        "agent_code": bill.agent_code,
        "assure_code": bill.assure_code,
        "tax_no": bill.tax_no,
        "status": bill.status,
        **{name: _cny(getattr(bill, name)) for name in (*COMPONENTS, "tax_total")},
        **extra,
    }
    for enterprise in _parties(bill):
        event_publish(enterprise=enterprise, type=event_type, payload=payload, subject=f"inventory:{bill.inventory_id}")


def bill_receive(*, facts: BillFacts) -> str:
    """Store one CEB816 bill (once per taxNo), reconcile and charge it. Returns what happened."""
    with transaction.atomic():
        if TaxBill.objects.filter(tax_no=facts.tax_no).exists():
            outcome = f"{facts.tax_no}: received before"
            if facts.status != TaxBillStatus.GENERATED:
                status_receive(facts=_as_status(facts))
            return outcome
        listing = list_by_customs_number(facts.invt_no)
        total = facts.customs_tax + facts.value_added_tax + facts.consumption_tax
        bill = TaxBill.objects.create(
            tax_no=facts.tax_no,
            invt_no=facts.invt_no,
            status=TaxBillStatus.GENERATED,
            customs_tax=facts.customs_tax,
            value_added_tax=facts.value_added_tax,
            consumption_tax=facts.consumption_tax,
            tax_total=total,
            note=facts.note[:1000],
            issued_at=facts.issued_at,
            assure_code=facts.assure_code,
            ebc_code=facts.ebc_code,
            agent_code=facts.agent_code,
            logistics_code=facts.logistics_code,
            customs_code=facts.customs_code,
            order_no=facts.order_no,
            logistics_no=facts.logistics_no,
        )
        TaxBillItem.objects.bulk_create(
            [
                TaxBillItem(
                    bill=bill,
                    gnum=item.gnum,
                    gcode=item.gcode,
                    tax_price=item.tax_price,
                    customs_tax=item.customs_tax,
                    value_added_tax=item.value_added_tax,
                    consumption_tax=item.consumption_tax,
                )
                for item in facts.items
            ]
        )
        TaxBillStatusChange.objects.create(
            tax_no=facts.tax_no,
            bill=bill,
            message_guid=facts.message_guid,
            status=TaxBillStatus.GENERATED,
            occurred_at=facts.issued_at,
            applied=True,
            note="CEB816",
        )
        charge = guarantees.bill_charge(
            tax_no=bill.tax_no,
            tax_total=total,
            assure_code=facts.assure_code or (listing.assure_code if listing else ""),
            inventory_id=listing.ref.inventory_id if listing else None,
            version=listing.ref.version if listing else None,
        )
        if charge is not None:
            bill.guarantee_code, bill.guarantee_amount = charge.account_code, charge.amount
            bill.guarantee_effect = GuaranteeEffect.USED
            bill.save(update_fields=["guarantee_code", "guarantee_amount", "guarantee_effect"])
        if listing is not None:
            _link(bill, listing)
        if facts.status != TaxBillStatus.GENERATED:
            status_receive(facts=_as_status(facts))
        _apply_waiting(bill)
        bill.refresh_from_db()
        if listing is None:
            return f"{bill.tax_no}: kept until list {facts.invt_no} is known"
        return f"{bill.tax_no}: {'differs from the estimate' if bill.differs else 'matches the estimate'}"


def _as_status(facts: BillFacts) -> StatusFacts:
    return StatusFacts(
        message_guid=f"{facts.message_guid}:816",
        tax_no=facts.tax_no,
        invt_no=facts.invt_no,
        status=facts.status,
        ent_duty_no=facts.ent_duty_no,
        occurred_at=facts.issued_at,
        assure_code=facts.assure_code,
    )


def status_receive(*, facts: StatusFacts) -> str:
    """Record one CEB818 status (once per message) and apply it to its bill, if received."""
    if facts.status not in TaxBillStatus.values:
        return f"{facts.tax_no}: unknown status {facts.status!r}"
    with transaction.atomic():
        change, created = TaxBillStatusChange.objects.get_or_create(
            tax_no=facts.tax_no,
            message_guid=facts.message_guid,
            defaults={"status": facts.status, "ent_duty_no": facts.ent_duty_no, "occurred_at": facts.occurred_at},
        )
        if not created:
            return f"{facts.tax_no}: {facts.status} received before"
        bill = TaxBill.objects.select_for_update().filter(tax_no=facts.tax_no).first()
        if bill is None:
            return f"{facts.tax_no}: {facts.status} kept until the bill arrives"
        return f"{facts.tax_no}: {_apply(bill, change)}"


def _apply_waiting(bill: TaxBill) -> None:
    for change in TaxBillStatusChange.objects.filter(tax_no=bill.tax_no, bill__isnull=True).order_by("occurred_at"):
        _apply(bill, change)


def _apply(bill: TaxBill, change: TaxBillStatusChange) -> str:
    change.bill = bill
    if bill.status == TaxBillStatus.VOID:
        change.note = "the bill is void already"
        change.save(update_fields=["bill", "note"])
        return f"{change.status} ignored: void already"
    bill.status = change.status
    if change.ent_duty_no:
        bill.ent_duty_no = change.ent_duty_no
    frees = change.status == TaxBillStatus.VOID or (
        change.status == TaxBillStatus.SUMMARISED and bool(bill.ent_duty_no)
    )
    if frees and bill.guarantee_effect == GuaranteeEffect.USED:
        guarantees.bill_free(
            account_code=bill.guarantee_code,
            amount=bill.guarantee_amount,
            tax_no=bill.tax_no,
            inventory_id=bill.inventory_id,
            note="voided" if change.status == TaxBillStatus.VOID else f"paid, {bill.ent_duty_no}",
        )
        bill.guarantee_effect = GuaranteeEffect.FREED
    bill.save(update_fields=["status", "ent_duty_no", "guarantee_effect"])
    change.applied = True
    change.save(update_fields=["bill", "applied"])
    if bill.inventory_id is not None:
        _publish(bill, event_types.INVENTORY_TAX_BILL_STATUS, {"ent_duty_no": bill.ent_duty_no})
    return {"1": "generated", "2": "summarised" + (", paid" if bill.ent_duty_no else ""), "3": "void"}[change.status]


def bills_link_sweep(*, limit: int = 500) -> int:
    """Attach bills kept unlinked to their lists, now that customs' number is known."""
    linked = 0
    horizon = timezone.now() - LINK_HORIZON
    pending = TaxBill.objects.filter(inventory_id__isnull=True, received_at__gte=horizon).values_list("pk", "invt_no")
    for pk, invt_no in pending[:limit]:
        listing = list_by_customs_number(invt_no)
        if listing is None:
            continue
        with transaction.atomic():
            bill = TaxBill.objects.select_for_update().get(pk=pk)
            if bill.inventory_id is not None:
                continue
            if bill.guarantee_effect != GuaranteeEffect.NONE:
                guarantees.bill_settle_reservation(tax_no=bill.tax_no, inventory_id=listing.ref.inventory_id)
            else:
                charge = guarantees.bill_charge(
                    tax_no=bill.tax_no,
                    tax_total=bill.tax_total if bill.status != TaxBillStatus.VOID else Decimal(0),
                    assure_code=bill.assure_code or listing.assure_code,
                    inventory_id=listing.ref.inventory_id,
                    version=listing.ref.version,
                )
                if charge is not None and bill.status != TaxBillStatus.VOID:
                    bill.guarantee_code, bill.guarantee_amount = charge.account_code, charge.amount
                    bill.guarantee_effect = GuaranteeEffect.USED
            _link(bill, listing)
            linked += 1
    return linked
