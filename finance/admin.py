"""The regulators' console for finance: the exchange rate table (customs officers keep it) and
the payment companies' settlement reports (read only).

Every page applies the regulator's scope (``finance.scope``); every change is audited through
``AuditedModelAdmin``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import AuditedModelAdmin
from finance.models import ExchangeRate, SettlementMismatch, SettlementReport
from single_window.scope import ScopedAdminMixin


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("rate_date", "currency", "rate", "source", "updated_at")
    list_filter = ("currency",)
    date_hierarchy = "rate_date"
    ordering = ("-rate_date", "currency")
    readonly_fields = ("created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: ExchangeRate | None = None) -> bool:
        return False  # stored conversions name a rate's day; a wrong rate is corrected, not removed


class MismatchInline(admin.TabularInline[SettlementMismatch, SettlementReport]):
    model = SettlementMismatch
    extra = 0
    can_delete = False
    fields = (
        "kind",
        "line",
        "pay_transaction_id",
        "order_no",
        "file_amount",
        "file_currency",
        "file_amount_cny",
        "rate",
        "rate_date",
        "recorded_amount",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SettlementReport)
class SettlementReportAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("id", "uploader", "period_start", "period_end", "row_count", "mismatch_count", "created_at")
    list_filter = ("file_format",)
    search_fields = ("uploader__name", "uploader__customs_code", "uploader__uscc")
    list_select_related = ("uploader",)
    date_hierarchy = "created_at"
    inlines = (MismatchInline,)
    readonly_fields = (
        "uploader",
        "period_start",
        "period_end",
        "file_format",
        "file_sha256",
        "file_size",
        "file_deleted_at",
        "row_count",
        "payment_count",
        "matched_count",
        "mismatch_count",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports come from the payment companies' uploads

    def has_change_permission(self, request: HttpRequest, obj: SettlementReport | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SettlementReport | None = None) -> bool:
        return False
