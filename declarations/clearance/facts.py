"""The facts the declare step hands to the systems: a frozen ``ListFacts`` built from a list.

Personal data leaves only as keyed hashes (``single_window.hashes``), of values normalised
so that the same phone or address written two ways is the same fact.
"""

from __future__ import annotations

from django.utils import timezone

from declarations.models import DocumentStatus, Inventory, TaxEstimate, Waybill
from single_window import hashes
from single_window import selectors as registry
from single_window.declare import CustomsListFacts, ItemFacts, ItemTaxFacts, ListFacts, ListRef, TaxFacts

PHONE_PURPOSE = hashes.PHONE_PURPOSE
ADDRESS_PURPOSE = hashes.ADDRESS_PURPOSE
# The normalisation is the hub's (``single_window.hashes``), so a system's watch list hashes a
# phone or address exactly as the facts do.
normalise_phone = hashes.normalise_phone
normalise_address = hashes.normalise_address


def _park_code(inventory: Inventory) -> str:
    for code in (inventory.area_code, inventory.agent_code):
        enterprise = registry.enterprise_get_by_code(code=code) if code else None
        if enterprise is not None and enterprise.park is not None:
            return enterprise.park.code
    return ""


def _tax(estimate: TaxEstimate | None) -> TaxFacts | None:
    if estimate is None:
        return None
    return TaxFacts(
        mode=estimate.mode,
        dutiable_total=estimate.dutiable_total,
        customs_tax=estimate.customs_tax,
        value_added_tax=estimate.value_added_tax,
        consumption_tax=estimate.consumption_tax,
        tax_total=estimate.tax_total,
    )


def _waybill(inventory: Inventory) -> Waybill | None:
    return (
        Waybill.objects.filter(
            logistics_code=inventory.logistics_code,
            logistics_no=inventory.logistics_no,
            status=DocumentStatus.DECLARED,
        )
        .order_by("-generation")
        .first()
    )


def list_facts(*, inventory: Inventory) -> ListFacts:
    """The list as the systems see it; the consignee's phone is the parcel's waybill's."""
    try:
        # Matching, which stored the estimate just before, left it on the list (no query then).
        estimate: TaxEstimate | None = inventory.tax_estimate
    except TaxEstimate.DoesNotExist:
        estimate = None
    waybill = _waybill(inventory)
    phone = waybill.consignee_telephone if waybill is not None else inventory.buyer_telephone
    return ListFacts(
        ref=ListRef(inventory.pk, inventory.version),
        cop_no=inventory.cop_no,
        trade_mode=inventory.trade_mode,
        ebp_code=inventory.ebp_code,
        ebc_code=inventory.ebc_code,
        agent_code=inventory.agent_code,
        assure_code=inventory.assure_code,
        logistics_code=inventory.logistics_code,
        area_code=inventory.area_code,
        ems_no=inventory.ems_no,
        customs_code=inventory.customs_code,
        port_code=inventory.port_code,
        park_code=_park_code(inventory),
        buyer_hash=inventory.buyer_id_hash,
        consignee_phone_hash=hashes.phone_hash(phone),
        consignee_address_hash=hashes.address_hash(inventory.consignee_address),
        gross_weight=inventory.gross_weight,
        net_weight=inventory.net_weight,
        freight=inventory.freight,
        insured_fee=inventory.insured_fee,
        items=tuple(
            ItemFacts(
                gnum=item.gnum,
                gcode=item.gcode,
                item_record_no=item.item_record_no,
                item_name=item.item_name or item.gname,
                qty=item.qty,
                unit=item.unit,
                qty1=item.qty1,
                unit1=item.unit1,
                qty2=item.qty2,
                unit2=item.unit2,
                price=item.price,
                total_price=item.total_price,
                currency=item.currency,
                country=item.country,
            )
            for item in inventory.items.all()
        ),
        tax=_tax(estimate),
        declared_at=timezone.now(),
    )


def customs_list_facts(invt_no: str) -> CustomsListFacts | None:
    """The live list customs numbered ``invt_no``, with its estimate (the hub's list lookup,
    ``single_window.declare.list_by_customs_number``). Two queries."""
    inventory = (
        Inventory.objects.filter(invt_no=invt_no)
        .exclude(status="deleted")
        .select_related("tax_estimate")
        .order_by("-id")
        .first()
    )
    if inventory is None:
        return None
    try:
        estimate: TaxEstimate | None = inventory.tax_estimate
    except TaxEstimate.DoesNotExist:
        estimate = None
    items = (
        tuple(
            ItemTaxFacts(
                gnum=line.gnum,
                gcode=line.gcode,
                dutiable_value=line.dutiable_value,
                customs_tax=line.customs_tax,
                value_added_tax=line.value_added_tax,
                consumption_tax=line.consumption_tax,
            )
            for line in estimate.items.all()
        )
        if estimate is not None
        else ()
    )
    return CustomsListFacts(
        ref=ListRef(inventory_id=inventory.pk, version=inventory.version),
        invt_no=inventory.invt_no,
        cop_no=inventory.cop_no,
        status=inventory.status,
        ebp_code=inventory.ebp_code,
        ebc_code=inventory.ebc_code,
        agent_code=inventory.agent_code,
        assure_code=inventory.assure_code,
        logistics_code=inventory.logistics_code,
        order_no=inventory.order_no,
        customs_code=inventory.customs_code,
        tax=_tax(estimate),
        tax_items=items,
    )
