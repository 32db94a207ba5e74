"""Input serializers of the export documents, built from ``declarations.export.spec``; shared by
the JSON API and the XML reader (which hands over the same dicts).

They check the shape of one document and the rules that need nothing but the document:
formats, amounts and their sums, flags and each trade mode's fields. Who may send it is
``declarations.export.rules``; how it fits the other documents of its parcel is
``declarations.export.checks``. Export amounts are in any currency customs knows (not only CNY).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from declarations.export import codes
from declarations.export.spec import ARRIVAL, DEPARTURE, LIST, MASTER_BILL, ORDER, RECEIPT, WAYBILL, ExportSpec
from declarations.intake import codes as intake_codes
from declarations.intake.serializers import MAX_LINES, serializer_field
from declarations.models import ExportOrderType, ExportTradeMode

# Fields each export trade mode needs beyond the schema's own: a special-zone export (1210)
# names the zone's warehouse enterprise and its account book.
TRADE_MODE_FIELDS: dict[str, tuple[str, ...]] = {
    ExportTradeMode.DIRECT: (),
    ExportTradeMode.SPECIAL_ZONE: ("iac_code", "iac_name", "ems_no"),
    ExportTradeMode.B2B_DIRECT: (),
    ExportTradeMode.OVERSEAS_WAREHOUSE: (),
}


class ExportDocumentInput(serializers.Serializer[Any]):
    """Base of the export document serializers; ``spec`` says which."""

    spec: ExportSpec

    def validate_app_type(self, value: str) -> str:
        if value not in ("1", "2", "3"):
            raise serializers.ValidationError(
                _("appType is 1 (new), 2 (change) or 3 (delete)."), code=intake_codes.INVALID_APP_TYPE
            )
        return value

    def validate_app_time(self, value: datetime.datetime) -> datetime.datetime:
        tolerance = datetime.timedelta(seconds=settings.APP_TIME_FUTURE_TOLERANCE_SECONDS)
        if value > timezone.now() + tolerance:
            raise serializers.ValidationError(
                _("appTime is later than now by more than %(seconds)s seconds.")
                % {"seconds": settings.APP_TIME_FUTURE_TOLERANCE_SECONDS},
                code=intake_codes.APP_TIME_IN_FUTURE,
            )
        return value

    def validate_app_status(self, value: str) -> str:
        if value not in ("1", "2"):
            raise serializers.ValidationError(
                _("appStatus is 1 (draft) or 2 (declare)."), code=intake_codes.INVALID_APP_STATUS
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        problems: dict[str, list[serializers.ErrorDetail]] = {}

        def add(field: str, code: str, message: Any) -> None:
            problems.setdefault(field, []).append(serializers.ErrorDetail(str(message), code=code))

        items = attrs.get("items", [])
        for index, line in enumerate(items):
            if {"price", "qty", "total_price"} <= line.keys() and line["price"] * line["qty"] != line["total_price"]:
                add(
                    f"items[{index}].total_price",
                    codes.EXPORT_TOTAL_PRICE_MISMATCH,
                    _("total_price must equal price x qty."),
                )
        gnums = [line["gnum"] for line in items if "gnum" in line]
        if len(gnums) != len(set(gnums)):
            add("items", codes.EXPORT_DUPLICATE_GNUM, _("Each item needs its own gnum."))
        if "msg_seq_no" in attrs and "msg_count" in attrs and not 1 <= attrs["msg_seq_no"] <= attrs["msg_count"]:
            add("msg_seq_no", codes.EXPORT_MSG_SEQUENCE_INVALID, _("msg_seq_no runs from 1 to msg_count."))
        if attrs.get("ie_flag") not in (None, "E"):
            add("ie_flag", codes.EXPORT_IE_FLAG_INVALID, _("An export document has ie_flag E."))
        self.validate_document(attrs, add)
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def validate_document(self, attrs: dict[str, Any], add: Any) -> None:
        """Rules of one document type."""


def _build(spec: ExportSpec, base: type[ExportDocumentInput], name: str) -> type[ExportDocumentInput]:
    attrs: dict[str, Any] = {f.name: serializer_field(f) for f in spec.head}
    if spec.lines:
        line_fields: dict[str, Any] = {f.name: serializer_field(f) for f in spec.lines}
        line_fields["Meta"] = type("Meta", (), {"ref_name": f"{name}Item"})
        line_cls = type(f"{name}ItemInput", (serializers.Serializer,), line_fields)
        attrs["items"] = line_cls(many=True, min_length=1, max_length=MAX_LINES)
    attrs["spec"] = spec
    attrs["Meta"] = type("Meta", (), {"ref_name": name})
    return type(f"{name}Input", (base,), attrs)


class _OrderRules(ExportDocumentInput):
    def validate_document(self, attrs: dict[str, Any], add: Any) -> None:
        if attrs.get("order_type") not in (None, *ExportOrderType.values):
            add(
                "order_type",
                codes.EXPORT_ORDER_TYPE_INVALID,
                _("An export order has order_type E (B2C), B (B2B) or W (overseas warehouse booking)."),
            )
        items = attrs.get("items", [])
        goods_value = sum((line["total_price"] for line in items), Decimal(0))
        if "goods_value" in attrs and items and attrs["goods_value"] != goods_value:
            add(
                "goods_value",
                codes.EXPORT_GOODS_VALUE_MISMATCH,
                _("goods_value must equal the sum of the items' total_price."),
            )


class _ListRules(ExportDocumentInput):
    def validate_document(self, attrs: dict[str, Any], add: Any) -> None:
        mode = attrs.get("trade_mode")
        if attrs.get("statistics_flag") not in (None, "A", "B"):
            add(
                "statistics_flag",
                codes.EXPORT_STATISTICS_FLAG_INVALID,
                _("statistics_flag is A (simplified) or B (summary declaration)."),
            )
        for name in ("f_flag", "i_flag"):
            if attrs.get(name) not in (None, "3"):
                add(name, codes.EXPORT_FLAG_INVALID, _("The schema fixes this flag at 3 (total price)."))
        if mode not in TRADE_MODE_FIELDS:
            add(
                "trade_mode",
                codes.EXPORT_TRADE_MODE_UNSUPPORTED,
                _("Export lists use trade mode 9610, 1210, 9710 or 9810."),
            )
            return
        for name in TRADE_MODE_FIELDS[mode]:
            if not attrs.get(name):
                add(
                    name,
                    codes.EXPORT_REQUIRED_FOR_TRADE_MODE,
                    _("Required for trade mode %(mode)s.") % {"mode": mode},
                )
        if mode == ExportTradeMode.SPECIAL_ZONE:
            for index, line in enumerate(attrs.get("items", [])):
                if not line.get("item_record_no"):
                    add(
                        f"items[{index}].item_record_no",
                        codes.EXPORT_REQUIRED_FOR_TRADE_MODE,
                        _("Required for trade mode %(mode)s.") % {"mode": mode},
                    )


ExportOrderInput = _build(ORDER, _OrderRules, "ExportOrder")
ExportReceiptInput = _build(RECEIPT, ExportDocumentInput, "ExportPaymentReceipt")
ExportWaybillInput = _build(WAYBILL, ExportDocumentInput, "ExportWaybill")
ExportArrivalInput = _build(ARRIVAL, ExportDocumentInput, "ExportArrival")
ExportDepartureInput = _build(DEPARTURE, ExportDocumentInput, "ExportDeparture")
ExportListInput = _build(LIST, _ListRules, "ExportList")
ExportMasterBillInput = _build(MASTER_BILL, ExportDocumentInput, "ExportMasterBill")
