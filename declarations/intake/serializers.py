"""Input serializers built from the field table, shared by the JSON API and the XML reader.

They check the shape of one document and the rules that need nothing but the document:
formats, amounts and their sums, currency, identity numbers and the trade mode's fields.
Rules that need the registry or the reference tables live in ``declarations.intake.rules``.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.times import ceb_time, parse_ceb_time
from declarations.customs.spec import INVENTORY, ORDER, PAYMENT, WAYBILL, DocumentSpec, Field, Kind
from declarations.intake import codes
from declarations.intake.amounts import AsciiDecimalField, AsciiIntegerField, amount_scale
from declarations.intake.identity import RESIDENT_ID_CARD, is_valid_resident_id, normalise_id_number

CNY = "142"
MAX_LINES = 99


class DecimalString(AsciiDecimalField):
    """decimal(19,5) carried as a string; a JSON number is refused so no float rounds it."""

    default_error_messages = {"not_a_string": _('Send amounts as decimal strings, for example "12.50".')}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=19, decimal_places=5, min_value=Decimal(0), coerce_to_string=True, **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        """The amount at the scale it was written ("12.50" stays Decimal("12.50"), 0 to 5
        decimals): the service records the scale so the amount is answered as it came."""
        if not isinstance(data, str):
            self.fail("not_a_string")
        value = super().to_internal_value(data.strip())  # refuses more than 5 decimals
        return value.quantize(Decimal(1).scaleb(-amount_scale(Decimal(data.strip()))))


class Timestamp(serializers.CharField):
    """YYYYMMDDhhmmss in China Standard Time."""

    default_error_messages = {"invalid_timestamp": _("Use YYYYMMDDhhmmss (China Standard Time).")}

    def to_internal_value(self, data: Any) -> datetime.datetime:  # type: ignore[override]
        text = super().to_internal_value(data)
        if not re.fullmatch(r"[0-9]{14}", text):
            self.fail("invalid_timestamp")
        try:
            return parse_ceb_time(text)
        except ValueError:
            self.fail("invalid_timestamp")
            raise  # unreachable: fail() raises

    def to_representation(self, value: Any) -> str:
        return ceb_time(value) if isinstance(value, datetime.datetime) else str(value)


class Date(serializers.CharField):
    """YYYYMMDD."""

    default_error_messages = {"invalid_date": _("Use YYYYMMDD.")}

    def to_internal_value(self, data: Any) -> datetime.date | None:  # type: ignore[override]
        text = super().to_internal_value(data)
        if text == "" and not self.required:
            return None
        if not re.fullmatch(r"[0-9]{8}", text):
            self.fail("invalid_date")
        try:
            return datetime.datetime.strptime(text, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            self.fail("invalid_date")
            raise

    def to_representation(self, value: Any) -> str:
        return value.strftime("%Y%m%d") if isinstance(value, datetime.date) else str(value)


def serializer_field(field: Field) -> serializers.Field[Any, Any, Any, Any]:
    required = field.required
    common: dict[str, Any] = {"required": required}
    if not required:
        common["allow_null"] = True
    if field.kind is Kind.DECIMAL:
        return DecimalString(**common)
    if field.kind is Kind.INTEGER:
        return AsciiIntegerField(min_value=0, max_value=999_999_999, **common)
    if field.kind is Kind.TIMESTAMP:
        return Timestamp(**common)
    if field.kind is Kind.DATE:
        return Date(allow_blank=not required, **common)
    if field.kind is Kind.CODE:
        return serializers.CharField(
            min_length=field.length, max_length=field.length, allow_blank=not required, trim_whitespace=True, **common
        )
    return serializers.CharField(max_length=field.length, allow_blank=not required, trim_whitespace=True, **common)


def _error(field: str, code: str, message: Any) -> serializers.ValidationError:
    return serializers.ValidationError({field: [serializers.ErrorDetail(str(message), code=code)]})


class DocumentInput(serializers.Serializer[Any]):
    """Base of the four document serializers; ``spec`` says which."""

    spec: DocumentSpec

    def validate_app_type(self, value: str) -> str:
        if value not in ("1", "2", "3"):
            raise serializers.ValidationError(
                _("appType is 1 (new), 2 (change) or 3 (delete)."), code=codes.INVALID_APP_TYPE
            )
        return value

    def validate_app_time(self, value: datetime.datetime) -> datetime.datetime:
        """Not further ahead of the single window's clock than the tolerance: app_time orders
        versions, so a document dated far ahead would refuse every later version as stale."""
        tolerance = datetime.timedelta(seconds=settings.APP_TIME_FUTURE_TOLERANCE_SECONDS)
        if value > timezone.now() + tolerance:
            raise serializers.ValidationError(
                _("appTime is later than now by more than %(seconds)s seconds.")
                % {"seconds": settings.APP_TIME_FUTURE_TOLERANCE_SECONDS},
                code=codes.APP_TIME_IN_FUTURE,
            )
        return value

    def validate_app_status(self, value: str) -> str:
        if value not in ("1", "2"):
            raise serializers.ValidationError(
                _("appStatus is 1 (draft) or 2 (declare)."), code=codes.INVALID_APP_STATUS
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        problems: dict[str, list[serializers.ErrorDetail]] = {}

        def add(field: str, code: str, message: Any) -> None:
            problems.setdefault(field, []).append(serializers.ErrorDetail(str(message), code=code))

        for name in ("currency",):
            if name in attrs and attrs[name] != CNY:
                add(name, codes.CURRENCY_NOT_CNY, _("Import currency is 142 (CNY)."))
        for index, line in enumerate(attrs.get("items", [])):
            if line.get("currency") not in (None, CNY):
                add(f"items[{index}].currency", codes.CURRENCY_NOT_CNY, _("Import currency is 142 (CNY)."))
            if {"price", "qty", "total_price"} <= line.keys() and line["price"] * line["qty"] != line["total_price"]:
                add(f"items[{index}].total_price", codes.TOTAL_PRICE_MISMATCH, _("total_price must equal price x qty."))
        gnums = [line["gnum"] for line in attrs.get("items", [])]
        if len(gnums) != len(set(gnums)):
            add("items", codes.DUPLICATE_GNUM, _("Each item needs its own gnum."))
        for prefix in ("buyer", "payer"):
            self._check_identity(attrs, prefix, add)
        self.validate_document(attrs, add)
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def _check_identity(self, attrs: dict[str, Any], prefix: str, add: Any) -> None:
        id_type, id_number = f"{prefix}_id_type", f"{prefix}_id_number"
        if id_type in attrs and attrs[id_type] != RESIDENT_ID_CARD:
            add(id_type, codes.ID_TYPE_NOT_RESIDENT_CARD, _("The ID type must be 1 (resident identity card)."))
        if id_number in attrs:
            attrs[id_number] = normalise_id_number(attrs[id_number])
            if not is_valid_resident_id(attrs[id_number]):
                # The message names the field only: the number itself never goes into an error.
                add(id_number, codes.ID_NUMBER_INVALID, _("The resident ID number is not valid (check character)."))

    def validate_document(self, attrs: dict[str, Any], add: Any) -> None:
        """Rules of one document type."""


def _build(spec: DocumentSpec, base: type[DocumentInput], name: str) -> type[DocumentInput]:
    attrs: dict[str, Any] = {f.name: serializer_field(f) for f in spec.head}
    if spec.lines:
        line_fields: dict[str, Any] = {f.name: serializer_field(f) for f in spec.lines}
        line_fields["Meta"] = type("Meta", (), {"ref_name": f"{name}Item"})
        line_cls = type(f"{name}ItemInput", (serializers.Serializer,), line_fields)
        attrs["items"] = line_cls(many=True, min_length=1, max_length=MAX_LINES)
    attrs["spec"] = spec
    attrs["Meta"] = type("Meta", (), {"ref_name": name})
    return type(f"{name}Input", (base,), attrs)


class _OrderRules(DocumentInput):
    def validate_document(self, attrs: dict[str, Any], add: Any) -> None:
        items = attrs.get("items", [])
        goods_value = sum((i["total_price"] for i in items), Decimal(0))
        if "goods_value" in attrs and items and attrs["goods_value"] != goods_value:
            add(
                "goods_value",
                codes.GOODS_VALUE_MISMATCH,
                _("goods_value must equal the sum of the items' total_price."),
            )
        if {"goods_value", "freight", "tax_total", "discount", "actual_paid"} <= attrs.keys():
            expected = attrs["goods_value"] + attrs["freight"] + attrs["tax_total"] - attrs["discount"]
            if attrs["actual_paid"] != expected:
                add(
                    "actual_paid",
                    codes.ACTUAL_PAID_MISMATCH,
                    _("actual_paid must equal goods_value + freight + tax_total - discount."),
                )
        if attrs.get("order_type") not in (None, "I"):
            add("order_type", codes.INVALID, _("An import order has order_type I."))


# Fields each retail import trade mode needs beyond the schema's own.
TRADE_MODE_FIELDS = {"9610": ("traf_no", "voyage_no", "bill_no"), "1210": ("ems_no", "area_code", "area_name")}


class _InventoryRules(DocumentInput):
    def validate_document(self, attrs: dict[str, Any], add: Any) -> None:
        mode = attrs.get("trade_mode")
        if attrs.get("ie_flag") not in (None, "I"):
            add("ie_flag", codes.INVALID, _("An import list has ie_flag I."))
        if not attrs.get("cop_no"):
            add(
                "cop_no",
                codes.REQUIRED_FOR_TRADE_MODE,
                _("cop_no, the declaring enterprise's list number, is required."),
            )
        if mode not in TRADE_MODE_FIELDS:
            add("trade_mode", codes.TRADE_MODE_UNSUPPORTED, _("Retail import lists use trade mode 9610 or 1210."))
            return
        for name in TRADE_MODE_FIELDS[mode]:
            if not attrs.get(name):
                add(name, codes.REQUIRED_FOR_TRADE_MODE, _("Required for trade mode %(mode)s.") % {"mode": mode})
        items = attrs.get("items", [])
        if mode == "1210":
            if attrs.get("country") != CNY:
                add("country", codes.REQUIRED_FOR_TRADE_MODE, _("A 1210 list has country 142."))
            for index in (i for i, line in enumerate(items) if not line.get("item_record_no")):
                add(f"items[{index}].item_record_no", codes.REQUIRED_FOR_TRADE_MODE, _("Required for trade mode 1210."))
        for index in (i for i, line in enumerate(items) if not line["gcode"].isdigit()):
            add(f"items[{index}].gcode", codes.GCODE_FORMAT, _("gcode is 10 digits."))


OrderInput = _build(ORDER, _OrderRules, "Order")
PaymentInput = _build(PAYMENT, DocumentInput, "Payment")
WaybillInput = _build(WAYBILL, DocumentInput, "Waybill")
InventoryInput = _build(INVENTORY, _InventoryRules, "Inventory")


class BatchEntryInput(serializers.Serializer[Any]):
    """One document of a batch: its kind and the body its kind's endpoint takes (checked by that
    kind's input serializer when the document's turn comes, so a bad body refuses it alone)."""

    kind = serializers.ChoiceField(choices=["inventory", "order", "payment", "waybill"])
    document = serializers.DictField(help_text="The body a single POST to the kind's endpoint takes.")

    class Meta:
        ref_name = "BatchEntry"


class BatchInput(serializers.Serializer[Any]):
    documents = serializers.ListField(child=BatchEntryInput(), allow_empty=False)

    class Meta:
        ref_name = "Batch"

    def validate_documents(self, value: list[Any]) -> list[Any]:
        if len(value) > settings.BATCH_MAX_DOCUMENTS:
            raise serializers.ValidationError(
                _("A batch holds at most %(limit)d documents.") % {"limit": settings.BATCH_MAX_DOCUMENTS},
                code=codes.BATCH_SIZE,
            )
        return value
