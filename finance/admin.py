"""The regulators' console for finance: guarantee accounts (amounts changed with a reason),
cover ratios by customs class, customs' tax bills with what differs from the estimate, the
reservations, shortfalls and ledger of each account, the exchange rate table (customs officers
keep it), the payment companies' settlement reports (read only), the financing applications
with the reads of each applicant's record, and the sellers' export proceeds (read only).

Every page applies the regulator's scope (``finance.scope``). Bills, reservations, shortfalls,
the ledger and the applications are read-only: customs, the declare step and the enterprises
write them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from core.admin import AuditedModelAdmin, ReadOnlyAdminMixin, admin_actor
from finance import guarantees
from finance.models import (
    ExchangeRate,
    ExportProceeds,
    FinancingApplication,
    FinancingRecordRead,
    GuaranteeAccount,
    GuaranteeCoverage,
    GuaranteeMovement,
    GuaranteeReservation,
    GuaranteeShortfall,
    SettlementMismatch,
    SettlementReport,
    TaxBill,
    TaxBillItem,
    TaxBillStatusChange,
)
from single_window.scope import ScopedAdminMixin


class ReadOnlyAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin[Any]):
    """A scoped page regulators read and nobody edits."""


class GuaranteeAccountForm(forms.ModelForm[GuaranteeAccount]):
    reason = forms.CharField(
        label=_("reason"),
        max_length=500,
        help_text=_("Why the amount is set or changed (kept in the audit log and the ledger)."),
    )

    class Meta:
        model = GuaranteeAccount
        fields = ("code", "name", "amount", "instrument", "expires_on")


@admin.register(GuaranteeAccount)
class GuaranteeAccountAdmin(ScopedAdminMixin, admin.ModelAdmin[GuaranteeAccount]):
    form = GuaranteeAccountForm
    list_display = ("code", "name", "amount", "reserved", "used", "available_now", "expires_on", "updated_at")
    search_fields = ("code", "name")
    readonly_fields = ("reserved", "used", "available_now", "ledger")

    def get_readonly_fields(self, request: HttpRequest, obj: GuaranteeAccount | None = None) -> Any:
        return (*self.readonly_fields, "code") if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: GuaranteeAccount | None = None) -> bool:
        return False  # reservations and bills name the account

    @admin.display(description=_("available"))
    def available_now(self, obj: GuaranteeAccount) -> Decimal:
        return obj.available

    @admin.display(description=_("ledger (latest 30)"))
    def ledger(self, obj: GuaranteeAccount) -> SafeString:
        rows = obj.movements.order_by("-created_at", "-id")[:30]
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("at"),
            _("kind"),
            _("amount"),
            _("reserved"),
            _("used"),
            _("note"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        f"{row.created_at:%Y-%m-%d %H:%M}",
                        row.get_kind_display(),
                        row.amount_change,
                        row.reserved_change,
                        row.used_change,
                        row.tax_no or row.note,
                    )
                    for row in rows
                ),
            ),
        )

    def save_model(self, request: HttpRequest, obj: GuaranteeAccount, form: Any, change: bool) -> None:
        """Through the services: one audited change with its reason, the amount written to the
        ledger, and the lists held for this account judged again after a top-up."""
        data, actor = form.cleaned_data, admin_actor(request)
        if change:
            guarantees.account_update(
                account=obj,
                actor=actor,
                reason=data["reason"],
                amount=data["amount"],
                name=data["name"],
                instrument=data["instrument"],
                expires_on=data["expires_on"],
            )
            return
        saved = guarantees.account_create(
            code=data["code"],
            name=data["name"],
            amount=data["amount"],
            actor=actor,
            reason=data["reason"],
            instrument=data["instrument"],
            expires_on=data["expires_on"],
        )
        obj.pk = saved.pk


@admin.register(GuaranteeCoverage)
class GuaranteeCoverageAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("customs_class", "ratio")


class TaxBillItemInline(admin.TabularInline[TaxBillItem, TaxBill]):
    model = TaxBillItem
    fields = ("gnum", "gcode", "tax_price", "customs_tax", "value_added_tax", "consumption_tax")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TaxBillStatusChangeInline(admin.TabularInline[TaxBillStatusChange, TaxBill]):
    model = TaxBillStatusChange
    fields = ("occurred_at", "status", "ent_duty_no", "applied", "note", "received_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DiffersFilter(admin.SimpleListFilter):
    title = _("differs from the estimate")
    parameter_name = "differs"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("yes")), ("no", _("no"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[TaxBill]) -> QuerySet[TaxBill]:
        if self.value() == "yes":
            return queryset.exclude(differences={})
        if self.value() == "no":
            return queryset.filter(differences={})
        return queryset


@admin.register(TaxBill)
class TaxBillAdmin(ReadOnlyAdmin):
    list_display = (
        "tax_no",
        "invt_no",
        "cop_no",
        "status",
        "tax_total",
        "estimated_total",
        "differs_flag",
        "assure_code",
        "issued_at",
    )
    list_filter = ("status", DiffersFilter, "guarantee_effect")
    search_fields = ("tax_no", "invt_no", "cop_no", "order_no", "assure_code", "agent_code", "ebc_code")
    date_hierarchy = "issued_at"
    inlines = (TaxBillItemInline, TaxBillStatusChangeInline)
    fields = (
        ("tax_no", "invt_no", "status", "ent_duty_no"),
        ("cop_no", "order_no", "inventory_id", "list_version"),
        ("assure_code", "agent_code", "ebc_code", "customs_code"),
        ("customs_tax", "value_added_tax", "consumption_tax", "tax_total"),
        ("estimated_customs_tax", "estimated_value_added_tax", "estimated_consumption_tax", "estimated_total"),
        "differences_shown",
        ("guarantee_code", "guarantee_amount", "guarantee_effect"),
        ("issued_at", "received_at"),
        "note",
    )
    readonly_fields = (
        "tax_no",
        "invt_no",
        "status",
        "ent_duty_no",
        "cop_no",
        "order_no",
        "inventory_id",
        "list_version",
        "assure_code",
        "agent_code",
        "ebc_code",
        "customs_code",
        "customs_tax",
        "value_added_tax",
        "consumption_tax",
        "tax_total",
        "estimated_customs_tax",
        "estimated_value_added_tax",
        "estimated_consumption_tax",
        "estimated_total",
        "differences_shown",
        "guarantee_code",
        "guarantee_amount",
        "guarantee_effect",
        "issued_at",
        "received_at",
        "note",
    )

    @admin.display(description=_("differs"), boolean=True)
    def differs_flag(self, obj: TaxBill) -> bool:
        return obj.differs

    @admin.display(description=_("what differs (estimate → bill)"))
    def differences_shown(self, obj: TaxBill) -> SafeString | str:
        if not obj.differences:
            return str(_("nothing: the bill equals the estimate"))
        rows: list[tuple[str, str, str]] = []
        for name, value in obj.differences.items():
            if name == "items":
                for gnum, parts in value.items():
                    rows += [
                        (f"{_('item')} {gnum} {part}", figures.get("estimate") or "-", figures.get("bill") or "-")
                        for part, figures in parts.items()
                        if isinstance(figures, dict)
                    ]
            elif isinstance(value, dict):
                rows.append((name, value.get("estimate") or "-", value.get("bill") or "-"))
            else:
                rows.append((name, str(value), ""))
        return format_html(
            "<table><tr><th></th><th>{}</th><th>{}</th></tr>{}</table>",
            _("estimate"),
            _("bill"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )


@admin.register(GuaranteeReservation)
class GuaranteeReservationAdmin(ReadOnlyAdmin):
    list_display = (
        "cop_no",
        "list_version",
        "account",
        "estimated_tax",
        "ratio",
        "amount",
        "state",
        "outcome",
        "created_at",
    )
    list_filter = ("state", "customs_class")
    search_fields = ("cop_no", "agent_code", "ebc_code", "account__code")
    list_select_related = ("account",)


@admin.register(GuaranteeShortfall)
class GuaranteeShortfallAdmin(ReadOnlyAdmin):
    list_display = ("cop_no", "list_version", "assure_code", "required", "available", "created_at", "resolved_at")
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    search_fields = ("cop_no", "assure_code")


@admin.register(GuaranteeMovement)
class GuaranteeMovementAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "account",
        "kind",
        "amount_change",
        "reserved_change",
        "used_change",
        "tax_no",
        "note",
    )
    list_filter = ("kind",)
    search_fields = ("account__code", "tax_no", "note")
    list_select_related = ("account",)


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


@admin.register(FinancingApplication)
class FinancingApplicationAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "applicant",
        "institution",
        "amount",
        "term_months",
        "state",
        "approved_amount",
        "annual_rate",
        "created_at",
        "decided_at",
    )
    list_filter = ("state",)
    search_fields = (
        "applicant__customs_code",
        "applicant__uscc",
        "applicant__name",
        "institution__customs_code",
        "institution__uscc",
        "institution__name",
    )
    list_select_related = ("applicant", "institution")
    readonly_fields = ("record_reads",)

    @admin.display(description=_("reads of the applicant's record (latest 30)"))
    def record_reads(self, obj: FinancingApplication) -> SafeString:
        rows = obj.record_reads.order_by("-read_at", "-id")[:30]
        return format_html(
            "<table><tr><th>{}</th><th>{}</th></tr>{}</table>",
            _("read at"),
            _("consent id"),
            format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", ((r.read_at, r.consent_id) for r in rows)),
        )


@admin.register(FinancingRecordRead)
class FinancingRecordReadAdmin(ReadOnlyAdmin):
    list_display = ("read_at", "application", "institution", "consent_id")
    search_fields = ("institution__customs_code", "institution__name")
    list_select_related = ("application", "institution")


@admin.register(ExportProceeds)
class ExportProceedsAdmin(ReadOnlyAdmin):
    list_display = (
        "released_on",
        "ebc_code",
        "agent_code",
        "cop_no",
        "invt_no",
        "trade_mode",
        "currency",
        "amount",
        "rate",
        "rate_date",
        "amount_cny",
        "awaiting",
    )
    list_filter = ("currency", "trade_mode", ("amount_cny", admin.EmptyFieldListFilter))
    search_fields = ("ebc_code", "agent_code", "cop_no", "invt_no")
    date_hierarchy = "released_on"

    @admin.display(boolean=True, description=_("awaiting a rate"))
    def awaiting(self, obj: ExportProceeds) -> bool:
        return obj.awaiting_rate
