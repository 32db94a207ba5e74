"""The regulators' view of summary declarations (CEB701/702/792): read-only, scoped by the
summary's customs district, the park of its consignor or declaring agent, or an export list in
scope it summarises; its goods lines, lists and messages go with it. Codes are shown with their
names and amounts with their decimals, as on the documents' pages (``declarations.admin``)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from declarations.admin.documents import ReadOnlyInline
from declarations.admin.export import RecordAdmin
from declarations.admin.scope import export_lists_in
from declarations.models.export_summary import ExportSummary, ExportSummaryLine, ExportSummaryList, ExportSummaryMessage
from single_window.scope import Scope, register_scope_rule


def summary_rule(scope: Scope) -> Q:
    """The summaries ``scope`` covers: its districts, a consignor or agent of its parks, or one
    summarising an export list in scope."""
    return (
        Q(customs_code__in=scope.districts)
        | Q(scope.enterprise_named("ebc_code"))
        | Q(scope.enterprise_named("agent_code"))
        | Q(Exists(ExportSummaryList.objects.filter(summary=OuterRef("pk"), export_list__in=export_lists_in(scope))))
    )


def register_scope() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    register_scope_rule(ExportSummary, summary_rule)
    for model in (ExportSummaryLine, ExportSummaryList, ExportSummaryMessage):
        register_scope_rule(model, lambda scope: Q(summary__in=ExportSummary.objects.filter(summary_rule(scope))))


class SummaryLineInline(ReadOnlyInline):
    model = ExportSummaryLine
    shown_fields = ("line_no", "code", "name", "currency", "unit", "qty", "total_price", "list_count", "item_count")


class SummaryListInline(ReadOnlyInline):
    model = ExportSummaryList
    shown_fields = ("invt_no", "msg_seq_no", "live")


class SummaryMessageInline(ReadOnlyInline):
    model = ExportSummaryMessage
    shown_fields = ("msg_seq_no", "head_guid", "list_count", "return_status", "return_info", "answered_at")


@admin.register(ExportSummary)
class ExportSummaryAdmin(RecordAdmin):
    """A summary application, customs' number for it and the declaration it became."""

    record_model = ExportSummary
    list_display = ("cop_no", "ebc_code", "customs_code_shown", "period_start", "status", "sum_no", "entry_id")
    list_filter = ("status", "customs_code", "period_start")
    list_select_related = ("enterprise",)
    search_fields = ("cop_no", "sum_no", "entry_id", "ebc_code", "agent_code", "lists__invt_no")
    search_help_text = _("A summary application, customs declaration, list or enterprise's internal number.")
    inlines = (SummaryLineInline, SummaryListInline, SummaryMessageInline)
