"""The regulators' view of the export documents: read-only, scoped, personal data masked.

As the import documents' pages (``declarations.admin.documents``): codes with their names,
amounts with their own decimals, a small seller's telephone on a waybill masked for everyone
without ``declarations.view_personal_data`` (each unmasked showing audited). Who sees which
rows is ``declarations.admin.scope`` (an export list by its districts and the parks of its
agent, e-commerce enterprise or zone enterprise; the other documents through a list in scope
or their own district and party). Nobody adds, changes or deletes an export document here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import Model
from django.utils.translation import gettext_lazy as _

from declarations.admin.documents import DocumentAdmin, ReadOnlyAdmin, ReadOnlyInline, add_displays
from declarations.export import kinds
from declarations.models import (
    ExportArrival,
    ExportArrivalItem,
    ExportDeparture,
    ExportDepartureItem,
    ExportList,
    ExportListCancellation,
    ExportListItem,
    ExportListStatusChange,
    ExportMasterBill,
    ExportMasterBillItem,
    ExportOrder,
    ExportOrderItem,
    ExportPaymentReceipt,
    ExportWaybill,
)
from declarations.models.export_returns import ExportReturn, ExportReturnItem, ExportReturnTally

EXPORT_SEARCH_HELP = _("An order, waybill, list or enterprise's internal number.")

# Kept off the pages: how the single window carries a document (its outgoing and incoming
# messages, the gateway's sweep), not what the document says.
_CARRIAGE = frozenset({"id", "message", "source_message", "dispatch_requested_at", "amount_scales"})


def _choice_named(model: type[Model], name: str) -> Callable[[Any, Any], str]:
    """A code field whose names are the model's own choices ("E B2C export order")."""

    def show(self: Any, obj: Any) -> str:
        code = getattr(obj, name)
        label = getattr(obj, f"get_{name}_display")()
        return f"{code} {label}" if code and label != code else code

    show.short_description = getattr(model._meta.get_field(name), "verbose_name", name)  # type: ignore[attr-defined]
    show.admin_order_field = name  # type: ignore[attr-defined]
    return show


class ChoiceNamesMixin:
    """``choice_named``: code fields named by the model's own choices, not a customs table
    (put first among the bases: it replaces the displays the document layout made)."""

    choice_named: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        model = cls.model_of_page()
        for name in cls.choice_named:
            setattr(cls, f"{name}_shown", _choice_named(model, name))

    @classmethod
    def model_of_page(cls) -> type[Model]:
        return cls.document_type.model  # type: ignore[attr-defined,no-any-return]


class RecordAdmin(ReadOnlyAdmin):
    """A record not laid out by a declaration's field table (a cancellation request, a return, a
    summary): every field of ``record_model`` a regulator reads, codes named and amounts
    formatted, none changed."""

    record_model: ClassVar[type[Model]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = tuple(field.name for field in cls.record_model._meta.concrete_fields if field.name not in _CARRIAGE)
        cls.fields = cls.readonly_fields = add_displays(cls, cls.record_model, names)


# -- Lines ----------------------------------------------------------------------------------------


class ExportOrderItemInline(ReadOnlyInline):
    model = ExportOrderItem
    shown_fields = ("gnum", "item_no", "item_name", "qty", "unit", "price", "total_price", "currency")


class ExportArrivalItemInline(ReadOnlyInline):
    model = ExportArrivalItem
    shown_fields = ("gnum", "logistics_no", "total_package_no", "note")


class ExportDepartureItemInline(ReadOnlyInline):
    model = ExportDepartureItem
    shown_fields = ("gnum", "logistics_no", "total_package_no", "note")


class ExportListItemInline(ReadOnlyInline):
    model = ExportListItem
    shown_fields = (
        "gnum",
        "gcode",
        "gname",
        "gmodel",
        "qty",
        "unit",
        "qty1",
        "unit1",
        "price",
        "total_price",
        "currency",
        "country",
    )


class ExportListStatusChangeInline(ReadOnlyInline):
    model = ExportListStatusChange
    shown_fields = ("created_at", "from_status", "to_status", "source", "receipt_code", "receipt_time", "note")
    verbose_name_plural = _("history of the export list")


class ExportMasterBillItemInline(ReadOnlyInline):
    model = ExportMasterBillItem
    shown_fields = ("gnum", "logistics_no", "invt_no", "total_package_no", "note")


class ExportReturnItemInline(ReadOnlyInline):
    model = ExportReturnItem
    shown_fields = ("gnum", "gcode", "gname", "gmodel", "qty", "unit", "qty1", "unit1")


class ExportReturnTallyInline(ReadOnlyInline):
    model = ExportReturnTally
    shown_fields = ("cop_no", "operator_code", "logistics_no", "status", "location", "return_status", "answered_at")


# -- The documents ------------------------------------------------------------------------------


@admin.register(ExportOrder)
class ExportOrderAdmin(ChoiceNamesMixin, DocumentAdmin):
    document_type = kinds.ORDER
    # The order type's names are the export order's own (B2C, B2B, overseas warehouse booking).
    choice_named = ("order_type",)
    inlines = (ExportOrderItemInline,)
    list_display = (
        "order_no",
        "order_type_shown",
        "ebc_code",
        "status",
        "goods_value_shown",
        "currency_shown",
        "updated_at",
    )
    list_filter = ("status", "order_type", "app_time")
    search_fields = ("order_no", "ebp_code", "ebc_code")
    search_help_text = EXPORT_SEARCH_HELP


@admin.register(ExportPaymentReceipt)
class ExportPaymentReceiptAdmin(DocumentAdmin):
    document_type = kinds.RECEIPT
    list_display = ("order_no", "ebc_code", "pay_code", "status", "charge_shown", "currency_shown", "updated_at")
    list_filter = ("status", "app_time")
    search_fields = ("order_no", "pay_no", "ebp_code", "ebc_code", "pay_code")
    search_help_text = EXPORT_SEARCH_HELP


@admin.register(ExportWaybill)
class ExportWaybillAdmin(DocumentAdmin):
    document_type = kinds.WAYBILL
    list_display = (
        "logistics_no",
        "logistics_code",
        "ebc_code",
        "status",
        "freight_shown",
        "gross_weight_shown",
        "updated_at",
    )
    list_filter = ("status", "app_time")
    search_fields = ("logistics_no", "logistics_code", "ebc_code")
    search_help_text = EXPORT_SEARCH_HELP


@admin.register(ExportArrival)
class ExportArrivalAdmin(DocumentAdmin):
    document_type = kinds.ARRIVAL
    inlines = (ExportArrivalItemInline,)
    list_display = (
        "cop_no",
        "operator_code",
        "customs_code_shown",
        "traf_mode_shown",
        "bill_no",
        "status",
        "updated_at",
    )
    list_filter = ("status", "customs_code", "traf_mode", "app_time")
    search_fields = ("cop_no", "pre_no", "operator_code", "bill_no", "items__logistics_no")
    search_help_text = EXPORT_SEARCH_HELP


@admin.register(ExportDeparture)
class ExportDepartureAdmin(DocumentAdmin):
    document_type = kinds.DEPARTURE
    inlines = (ExportDepartureItemInline,)
    list_display = ("cop_no", "logistics_code", "customs_code_shown", "voyage_no", "leave_time", "status", "updated_at")
    list_filter = ("status", "customs_code", "traf_mode", "app_time")
    search_fields = ("cop_no", "pre_no", "logistics_code", "bill_no", "voyage_no", "items__logistics_no")
    search_help_text = EXPORT_SEARCH_HELP


@admin.register(ExportList)
class ExportListAdmin(DocumentAdmin):
    document_type = kinds.LIST
    inlines = (ExportListItemInline, ExportListStatusChangeInline)
    list_display = (
        "cop_no",
        "order_no",
        "trade_mode_shown",
        "customs_code_shown",
        "status",
        "invt_no",
        "updated_at",
    )
    list_filter = ("status", "trade_mode", "customs_code", "app_time")
    search_fields = ("cop_no", "invt_no", "pre_no", "order_no", "logistics_no", "agent_code", "ebc_code")
    search_help_text = EXPORT_SEARCH_HELP


@admin.register(ExportMasterBill)
class ExportMasterBillAdmin(DocumentAdmin):
    document_type = kinds.MASTER_BILL
    inlines = (ExportMasterBillItemInline,)
    list_display = ("cop_no", "agent_code", "customs_code_shown", "bill_no", "voyage_no", "status", "updated_at")
    list_filter = ("status", "customs_code", "traf_mode", "app_time")
    search_fields = ("cop_no", "pre_no", "agent_code", "bill_no", "items__logistics_no", "items__invt_no")
    search_help_text = EXPORT_SEARCH_HELP


# -- What is asked of customs about a list: its cancellation, the return of its goods -------------


@admin.register(ExportListCancellation)
class ExportListCancellationAdmin(RecordAdmin):
    record_model = ExportListCancellation
    list_display = ("cop_no", "export_list", "requested_by", "status", "customs_status", "created_at")
    list_filter = ("status", "created_at")
    list_select_related = ("export_list", "requested_by")
    search_fields = ("cop_no", "export_list__cop_no", "export_list__invt_no", "export_list__order_no")
    search_help_text = EXPORT_SEARCH_HELP


@admin.register(ExportReturn)
class ExportReturnAdmin(RecordAdmin):
    record_model = ExportReturn
    inlines = (ExportReturnItemInline, ExportReturnTallyInline)
    list_display = ("cop_no", "invt_no", "trade_mode_shown", "customs_code_shown", "status", "created_at")
    list_filter = ("status", "trade_mode", "customs_code", "app_time")
    list_select_related = ("export_list", "requested_by")
    search_fields = ("cop_no", "invt_no", "logistics_no", "agent_code", "ebc_code")
    search_help_text = EXPORT_SEARCH_HELP
