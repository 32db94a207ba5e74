"""The regulators' console for bonded stock: account books, items (on hand, reserved,
available), the lists' reservations and shortfalls, the ledger and the goods-in receipts.

Every page applies the regulator's scope (``logistics.scope``: the park of the book's
warehouse operator). Everything is read-only: the operators' receipts and the declare step
write it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin
from logistics.models import (
    StockAccountBook,
    StockItem,
    StockMovement,
    StockReceipt,
    StockReceiptLine,
    StockReservation,
    StockShortfall,
)
from single_window.scope import ScopedAdminMixin


class ReadOnlyAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin[Any]):
    """A scoped page regulators read and nobody edits."""


class StockItemInline(admin.TabularInline[StockItem, StockAccountBook]):
    model = StockItem
    fields = ("item_record_no", "gcode", "name", "unit", "on_hand", "reserved", "available_now")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("available"))
    def available_now(self, obj: StockItem) -> Decimal:
        return obj.available


@admin.register(StockAccountBook)
class StockAccountBookAdmin(ReadOnlyAdmin):
    list_display = ("ems_no", "area_code", "park_code", "name", "updated_at")
    search_fields = ("ems_no", "area_code", "name")
    inlines = (StockItemInline,)


@admin.register(StockItem)
class StockItemAdmin(ReadOnlyAdmin):
    list_display = ("book", "item_record_no", "gcode", "name", "unit", "on_hand", "reserved", "available_now")
    search_fields = ("item_record_no", "gcode", "name", "book__ems_no")
    list_select_related = ("book",)

    @admin.display(description=_("available"))
    def available_now(self, obj: StockItem) -> Decimal:
        return obj.available


@admin.register(StockReservation)
class StockReservationAdmin(ReadOnlyAdmin):
    list_display = ("cop_no", "list_version", "book", "item", "qty", "state", "outcome", "created_at")
    list_filter = ("state",)
    search_fields = ("cop_no", "agent_code", "book__ems_no", "item__item_record_no")
    list_select_related = ("book", "item")


@admin.register(StockShortfall)
class StockShortfallAdmin(ReadOnlyAdmin):
    list_display = (
        "cop_no",
        "list_version",
        "ems_no",
        "item_record_no",
        "code",
        "required",
        "available",
        "created_at",
        "resolved_at",
    )
    list_filter = ("code", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("cop_no", "ems_no", "item_record_no", "area_code", "agent_code")


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "book", "item", "kind", "on_hand_change", "reserved_change", "reference", "note")
    list_filter = ("kind",)
    search_fields = ("book__ems_no", "item__item_record_no", "reference", "note")
    list_select_related = ("book", "item")


class StockReceiptLineInline(admin.TabularInline[StockReceiptLine, StockReceipt]):
    model = StockReceiptLine
    fields = ("line_no", "item", "qty")
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StockReceipt)
class StockReceiptAdmin(ReadOnlyAdmin):
    list_display = ("reference", "book", "received_at", "recorded_by", "created_at")
    search_fields = ("reference", "book__ems_no")
    list_select_related = ("book",)
    inlines = (StockReceiptLineInline,)
