"""The regulators' console for logistics: waybill tracks (delayed, delivered before release,
unknown), each with its events, and the delay norms learned from history. Read-only: carriers
write the events, the tasks the rest. Every page applies the regulator's scope
(``logistics.scope``). Bonded stock's pages are in ``logistics.admin_stock``."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin
from logistics import admin_stock
from logistics.models import DelayNorm, TrackingEvent, WaybillTrack
from single_window.scope import ScopedAdminMixin


class TrackingEventInline(ReadOnlyAdminMixin, admin.TabularInline[TrackingEvent, WaybillTrack]):
    model = TrackingEvent
    extra = 0
    ordering = ("occurred_at", "id")
    fields = ("occurred_at", "status", "place", "transport_mode", "leg", "source", "received_at")
    readonly_fields = fields
    verbose_name_plural = _("tracking events (in time order)")


@admin.register(WaybillTrack)
class WaybillTrackAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[WaybillTrack]):
    list_display = (
        "logistics_code",
        "logistics_no",
        "current_status",
        "current_mode",
        "current_leg",
        "current_at",
        "delayed",
        "delivered_before_release",
        "delivery_notice",
        "known",
    )
    list_filter = (
        "logistics_code",
        "current_status",
        "current_mode",
        "delayed",
        "delivered_before_release",
        "known",
        "delivery_notice",
    )
    search_fields = ("logistics_no", "logistics_code", "order_no", "ebc_code")
    date_hierarchy = "last_event_at"
    inlines = (TrackingEventInline,)
    readonly_fields = tuple(field.name for field in WaybillTrack._meta.fields)


@admin.register(DelayNorm)
class DelayNormAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[DelayNorm]):
    list_display = ("logistics_code", "transport_mode", "leg", "status", "seconds", "samples", "computed_at")
    list_filter = ("logistics_code", "transport_mode", "status")
    search_fields = ("logistics_code",)


__all__ = ["DelayNormAdmin", "WaybillTrackAdmin", "admin_stock"]
