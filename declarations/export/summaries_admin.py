"""The regulators' view of summary declarations (CEB701/702/792): read-only, scoped by the
summary's customs district or the park of its consignor or declaring agent; its goods lines,
lists and messages go with it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest

from declarations.admin.documents import ReadOnlyInline, RegulatorAdmin
from declarations.models.export_summary import ExportSummary, ExportSummaryLine, ExportSummaryList, ExportSummaryMessage
from single_window.scope import Scope, register_scope_rule


def summary_rule(scope: Scope) -> Q:
    """The summaries ``scope`` covers: its districts, or a consignor or agent of its parks."""
    return (
        Q(customs_code__in=scope.districts)
        | Q(scope.enterprise_named("ebc_code"))
        | Q(scope.enterprise_named("agent_code"))
    )


def register_scope() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    register_scope_rule(ExportSummary, summary_rule)
    for model in (ExportSummaryLine, ExportSummaryList, ExportSummaryMessage):
        register_scope_rule(model, lambda scope: Q(summary__in=ExportSummary.objects.filter(summary_rule(scope))))


class SummaryLineInline(ReadOnlyInline):
    model = ExportSummaryLine
    fields = ("line_no", "code", "name", "currency", "unit", "qty", "total_price", "list_count", "item_count")
    readonly_fields = fields


class SummaryListInline(ReadOnlyInline):
    model = ExportSummaryList
    fields = ("invt_no", "msg_seq_no", "live")
    readonly_fields = fields


class SummaryMessageInline(ReadOnlyInline):
    model = ExportSummaryMessage
    fields = ("msg_seq_no", "head_guid", "list_count", "return_status", "return_info", "answered_at")
    readonly_fields = fields


@admin.register(ExportSummary)
class ExportSummaryAdmin(RegulatorAdmin):
    """A summary application, customs' number for it and the declaration it became."""

    list_display = ("cop_no", "ebc_code", "period_start", "period_end", "status", "sum_no", "entry_id")
    list_filter = ("status", "customs_code")
    search_fields = ("cop_no", "sum_no", "entry_id", "ebc_code", "agent_code")
    readonly_fields = tuple(
        field.name for field in ExportSummary._meta.concrete_fields if field.name not in {"id", "enterprise"}
    )
    fields = readonly_fields
    inlines = (SummaryLineInline, SummaryListInline, SummaryMessageInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
