"""The regulators' view of the customs side of logistics: carriers' delivery notices (CEB513,
answered by CEB514) and site operators' arrival manifests (CEB711, answered by CEB712).
Read-only and scoped (``declarations.admin.scope``): a notice goes with its waybill, so with the
list in scope that names it; a manifest by its customs district or the operator's park.

A delivery's place may be the consignee's address: it is shown masked unless the regulator may
see personal data (``declarations.view_personal_data``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import admin_actor
from core.audit import audit_record
from core.models import AuditEntry
from declarations.admin import display
from declarations.admin.documents import UNMASK_PERMISSION, ReadOnlyInline, RegulatorAdmin
from declarations.models import ArrivalManifest, ArrivalManifestLine, WaybillDeliveryNotice


@admin.register(WaybillDeliveryNotice)
class WaybillDeliveryNoticeAdmin(RegulatorAdmin):
    """A parcel signed for, as told to customs (CEB513), and customs' answer (CEB514)."""

    list_display = ("logistics_code", "logistics_no", "status", "delivered_at", "return_status", "answered_at")
    list_filter = ("status",)
    search_fields = ("logistics_no",)
    readonly_fields = (
        "waybill",
        "logistics_code",
        "logistics_no",
        "delivered_at",
        "place_shown",
        "note",
        "guid",
        "status",
        "send_note",
        "return_status",
        "return_info",
        "created_at",
        "sent_at",
        "answered_at",
        "updated_at",
    )
    fields = readonly_fields

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """The notice; for a holder of the unmask permission its place in full, audited."""
        obj = super().get_object(request, object_id, from_field)
        change_page = getattr(request.resolver_match, "url_name", "") == "declarations_waybilldeliverynotice_change"
        if obj is None or not change_page or request.method != "GET" or not obj.place:
            return obj
        if request.user.has_perm(UNMASK_PERMISSION):
            obj._unmasked = True
            audit_record(
                actor=admin_actor(request),
                action=AuditEntry.Action.UNMASK,
                instance=obj,
                after={"fields": ["place"]},
                reason="personal data shown on its page in the admin",
            )
        return obj

    @admin.display(description=_("place"))
    def place_shown(self, obj: WaybillDeliveryNotice) -> object:
        if getattr(obj, "_unmasked", False) or not obj.place:
            return obj.place
        return display.masked("address", obj.place)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ArrivalManifestLineInline(ReadOnlyInline):
    model = ArrivalManifestLine
    fields = ("gnum", "logistics_no", "waybill", "note")
    readonly_fields = fields


@admin.register(ArrivalManifest)
class ArrivalManifestAdmin(RegulatorAdmin):
    """A site operator's arrival manifest (入库明细单) and customs' answer."""

    list_display = ("operator_code", "cop_no", "customs_code_shown", "status", "rkd_no", "created_at")
    list_filter = ("status", "customs_code")
    search_fields = ("cop_no", "rkd_no", "bill_no")
    readonly_fields = (
        "operator",
        "guid",
        "cop_no",
        "customs_code_shown",
        "operator_code",
        "operator_name",
        "ie_flag_shown",
        "traf_mode_shown",
        "traf_no",
        "voyage_no",
        "bill_no",
        "logistics_code",
        "logistics_name",
        "unload_location",
        "note",
        "status",
        "send_note",
        "pre_no",
        "rkd_no",
        "return_status",
        "return_info",
        "created_at",
        "sent_at",
        "answered_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = (ArrivalManifestLineInline,)

    @admin.display(description=_("customs district code"), ordering="customs_code")
    def customs_code_shown(self, obj: ArrivalManifest) -> str:
        return display.code_label("customs_code", obj.customs_code)

    @admin.display(description=_("import/export flag"))
    def ie_flag_shown(self, obj: ArrivalManifest) -> str:
        return display.code_label("ie_flag", obj.ie_flag)

    @admin.display(description=_("transport mode"))
    def traf_mode_shown(self, obj: ArrivalManifest) -> str:
        return display.code_label("traf_mode", obj.traf_mode)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
