"""The regulators' view of the import documents: read-only, scoped, personal data masked.

Names, phones and addresses are shown only to regulators holding
``declarations.view_personal_data``, and each such view is written to the audit log. ID
numbers are never shown in full.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import admin_actor
from core.audit import audit_record
from core.crypto import decrypt_text
from core.masking import mask_value
from core.models import AuditEntry
from declarations.identity import masked_id_number
from declarations.models import Inventory, InventoryCancellation, InventoryItem, Order, OrderItem, Payment, Waybill
from declarations.spec import SPECS
from single_window import selectors as registry

UNMASK_PERMISSION = "declarations.view_personal_data"


def _personal(name: str) -> Callable[[Any, Any], Any]:
    def show(self: Any, obj: Any) -> Any:
        value = getattr(obj, name)
        return value if getattr(obj, "_unmasked", False) else mask_value(name, value)

    show.short_description = name.replace("_", " ")  # type: ignore[attr-defined]
    return show


def _id_number(name: str) -> Callable[[Any, Any], str]:
    def show(self: Any, obj: Any) -> str:
        return masked_id_number(decrypt_text(getattr(obj, f"{name}_encrypted")))

    show.short_description = name.replace("_", " ")  # type: ignore[attr-defined]
    return show


class DocumentAdmin(admin.ModelAdmin[Any]):
    kind: str
    list_filter: ClassVar[Any] = ("status",)
    list_select_related = ("sender",)
    date_hierarchy = "updated_at"

    document_fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Lay out the change page from the field table; personal fields get masked displays."""
        super().__init_subclass__(**kwargs)
        fields: list[str] = ["sender", "status", "version"]
        for field in SPECS[cls.kind].head:
            if field.name.endswith("_id_number"):
                setattr(cls, f"display_{field.name}", _id_number(field.name))
                fields.append(f"display_{field.name}")
            elif field.personal:
                setattr(cls, f"display_{field.name}", _personal(field.name))
                fields.append(f"display_{field.name}")
            else:
                fields.append(field.name)
        cls.document_fields = (*fields, "created_at", "updated_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.document_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.document_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        parks = registry.regulator_parks(user=request.user)
        if parks is None:
            return queryset
        districts = list(parks.values_list("customs_district", flat=True).distinct())
        scope = Q(sender__park__in=parks)
        if self.kind == "inventory":
            scope |= Q(customs_code__in=districts)
        return queryset.filter(scope)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and request.method == "GET" and request.user.has_perm(UNMASK_PERMISSION):
            obj._unmasked = True
            audit_record(
                actor=admin_actor(request),
                action=AuditEntry.Action.UNMASK,
                instance=obj,
                reason="personal data viewed in the admin",
            )
        return obj

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # documents come from enterprises, not from regulators

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderItemInline(admin.TabularInline[Any, Any]):
    model = OrderItem
    extra = 0
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InventoryItemInline(OrderItemInline):
    model = InventoryItem  # type: ignore[assignment]


@admin.register(Order)
class OrderAdmin(DocumentAdmin):
    kind = "order"
    inlines = (OrderItemInline,)
    list_display = ("order_no", "ebp_code", "ebc_code", "status", "actual_paid", "updated_at")
    search_fields = ("order_no", "ebp_code", "ebc_code", "pay_transaction_id")


@admin.register(Payment)
class PaymentAdmin(DocumentAdmin):
    kind = "payment"
    list_display = ("pay_transaction_id", "pay_code", "order_no", "status", "amount_paid", "updated_at")
    search_fields = ("pay_transaction_id", "order_no", "pay_code")


@admin.register(Waybill)
class WaybillAdmin(DocumentAdmin):
    kind = "waybill"
    list_display = ("logistics_no", "logistics_code", "order_no", "status", "generation", "updated_at")
    search_fields = ("logistics_no", "order_no", "bill_no")


@admin.register(Inventory)
class InventoryAdmin(DocumentAdmin):
    kind = "inventory"
    inlines = (InventoryItemInline,)
    list_display = ("cop_no", "agent_code", "order_no", "logistics_no", "trade_mode", "status", "updated_at")
    list_filter = ("status", "trade_mode", "customs_code")
    search_fields = ("cop_no", "invt_no", "order_no", "logistics_no")


@admin.register(InventoryCancellation)
class InventoryCancellationAdmin(admin.ModelAdmin[Any]):
    list_display = ("inventory", "requested_by", "status", "created_at")
    list_filter = ("status",)
    readonly_fields = ("inventory", "requested_by", "reason", "status", "created_at", "updated_at")
    fields = readonly_fields
    verbose_name = _("cancellation request")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
