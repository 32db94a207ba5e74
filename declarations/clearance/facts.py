"""The facts the declare step hands to the systems: a frozen ``ListFacts`` built from a list.

Personal data leaves only as keyed hashes (``core.crypto.lookup_hash``), of values normalised
so that the same phone or address written two ways is the same fact.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils import timezone

from core.crypto import lookup_hash
from declarations.models import DocumentStatus, Inventory, TaxEstimate, Waybill
from single_window import selectors as registry
from single_window.declare import ItemFacts, ListFacts, ListRef, TaxFacts

PHONE_PURPOSE = "consignee-phone"
ADDRESS_PURPOSE = "consignee-address"

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
# A leading province (or autonomous region, municipality) and city name: the same street
# is written with and without them.
_REGION_PREFIX = re.compile(r"^(?:.{2,7}?(?:省|自治区|特别行政区))?(?:.{2,7}?(?:市|自治州|地区|盟))?")


def normalise_phone(value: str) -> str:
    """Digits only, without China's country code: "+86 138-0013-8000" is "13800138000"."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch.isdigit() and ch.isascii())
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def normalise_address(value: str) -> str:
    """Full-width folded, case folded, whitespace and punctuation removed, and a leading
    province and city dropped: "广东省 深圳市南山区科技园１号" is "南山区科技园1号"."""
    text = _NOT_WORD.sub("", unicodedata.normalize("NFKC", value)).casefold()
    stripped = _REGION_PREFIX.sub("", text, count=1)
    return stripped or text


def _hash(value: str, purpose: str) -> str:
    return lookup_hash(value, purpose=purpose) if value else ""


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
    estimate = TaxEstimate.objects.filter(inventory=inventory).first()
    waybill = _waybill(inventory)
    phone = normalise_phone(waybill.consignee_telephone if waybill is not None else inventory.buyer_telephone)
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
        consignee_phone_hash=_hash(phone, PHONE_PURPOSE),
        consignee_address_hash=_hash(normalise_address(inventory.consignee_address), ADDRESS_PURPOSE),
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
