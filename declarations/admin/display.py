"""How the regulators' pages show a document's values: codes with their names, amounts with
their own decimals, personal data masked (and saying so), and where two masked values differ.

Nothing here reads a row per value: code names come from the process's snapshot of the code
tables (``declarations.reference.code_names``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.masking import mask_value
from declarations.models import Inventory, InventoryItem, Order, Payment, Waybill
from declarations.reference import code_names as names

# A document's code fields and the table that names them.
CODE_TABLES: Mapping[str, str] = {
    "country": names.COUNTRY,
    "trade_country": names.COUNTRY,
    "currency": names.CURRENCY,
    "traf_mode": names.TRANSPORT_MODE,
    "trade_mode": names.TRADE_MODE,
    "customs_code": names.DISTRICT,
    "port_code": names.DISTRICT,
    "unit": names.UNIT,
    "unit1": names.UNIT,
    "unit2": names.UNIT,
    "ct_unit": names.UNIT,
    "buyer_id_type": names.ID_TYPE,
    "payer_id_type": names.ID_TYPE,
    "ie_flag": names.IE_FLAG,
    "order_type": names.IE_FLAG,
    "app_type": names.APP_TYPE,
    "app_status": names.APP_STATUS,
}

# Amounts of money: two decimals (fen), more only where the value has them.
MONEY_FIELDS = frozenset(
    {
        "goods_value",
        "freight",
        "discount",
        "tax_total",
        "actual_paid",
        "amount_paid",
        "insured_fee",
        "price",
        "total_price",
        "dutiable_value",
        "dutiable_total",
        "customs_tax",
        "value_added_tax",
        "consumption_tax",
        "amount",
        "reserved",
        "consumed",
        "quota_amount",
    }
)

MASKED = _("masked")
FEN = Decimal("0.01")


def code_label(field: str, code: str | None) -> str:
    """A code field's value with its name ("601 Australia"); other fields' values as they are."""
    table = CODE_TABLES.get(field)
    if table is None:
        return code or ""
    return names.code_label(table, code)


def amount(field: str, value: Decimal | None, scales: Mapping[str, Any] | None = None) -> str:
    """An amount as a person reads it.

    1. With the decimals it was sent with (``amount_scales``), when they were kept.
    2. Money: two decimals, more only where the value has them (a unit price of 0.125).
    3. Quantities and weights: the specification's precision (five decimals) without trailing
       zeros (1.5, not 1.50000).
    """
    if value is None:
        return ""
    scale = (scales or {}).get(field)
    if isinstance(scale, int) and 0 <= scale <= 5:
        return format(value.quantize(Decimal(1).scaleb(-scale)), "f")
    if field in MONEY_FIELDS and value == value.quantize(FEN):
        return format(value.quantize(FEN), "f")
    normalised = value.normalize()
    return format(normalised.quantize(Decimal(1)) if normalised == normalised.to_integral() else normalised, "f")


def masked(field: str, value: object) -> SafeString:
    """A masked value that says it is masked (a suffix, and the reason in its title)."""
    shown = mask_value(field, value)
    return masked_text(str(shown) if shown is not None else "")


def masked_text(shown: str) -> SafeString:
    return format_html(
        '<span class="sw-masked" title="{}">{} <small class="sw-masked-note">({})</small></span>',
        gettext("Personal data, masked: shown in full only to holders of the unmask permission"),
        shown,
        MASKED,
    )


def first_difference(mine: str, other: str) -> int | None:
    """The position (from 1) of the first character where two values differ; None if equal."""
    if mine == other:
        return None
    for position, (a, b) in enumerate(zip(mine, other, strict=False), start=1):
        if a != b:
            return position
    return min(len(mine), len(other)) + 1


def differs_from(position: int) -> str:
    return gettext("differs from character %(position)s") % {"position": position}


# The ID number fields of the documents' heads (stored encrypted) and what the pages call them.
ID_NUMBER_LABELS = {"buyer_id_number": _("buyer's ID number"), "payer_id_number": _("payer's ID number")}
_DOCUMENTS: Mapping[str, type[Model]] = {"inventory": Inventory, "order": Order, "payment": Payment, "waybill": Waybill}
_ITEM_FIELD = re.compile(r"^items\[(?P<gnum>\d+)\]\.(?P<name>\w+)$")


def _field_name(models: tuple[type[Model], ...], name: str) -> str | None:
    if name in ID_NUMBER_LABELS:
        return str(ID_NUMBER_LABELS[name])
    for model in models:
        try:
            return str(getattr(model._meta.get_field(name), "verbose_name", name))
        except FieldDoesNotExist:
            continue
    return None


def field_label(field: str) -> str:
    """A rule result's field (``consignee_address``, ``items[1].total_price``, ``order.status``)
    in words; the field itself when it names nothing known."""
    item = _ITEM_FIELD.match(field)
    if item is not None:
        name = _field_name((InventoryItem,), item["name"])
        return gettext("item %(gnum)s: %(field)s") % {"gnum": item["gnum"], "field": name} if name else field
    document, _dot, name = field.rpartition(".")
    if document in _DOCUMENTS:
        shown = _field_name((_DOCUMENTS[document],), name)
        return f"{_DOCUMENTS[document]._meta.verbose_name}: {shown}" if shown else field
    if document == "items":
        shown = _field_name((InventoryItem,), name)
        return gettext("items: %(field)s") % {"field": shown} if shown else field
    return _field_name((Inventory, Order, Payment, Waybill), field) or field
