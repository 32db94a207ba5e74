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

from core.masking import mask_value
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

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        self._unmasked = request.user.has_perm(UNMASK_PERMISSION)
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description=_("place"))
    def place_shown(self, obj: WaybillDeliveryNotice) -> object:
        return obj.place if getattr(self, "_unmasked", False) else mask_value("address", obj.place)

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

    list_display = ("operator_code", "cop_no", "customs_code", "status", "rkd_no", "created_at")
    list_filter = ("status", "customs_code")
    search_fields = ("cop_no", "rkd_no", "bill_no")
    readonly_fields = (
        "operator",
        "guid",
        "cop_no",
        "customs_code",
        "operator_code",
        "operator_name",
        "ie_flag",
        "traf_mode",
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
