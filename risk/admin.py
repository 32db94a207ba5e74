"""The regulators' pages of risk control: rules (each change a new version, audited), the hits
the rules recorded, watch lists, restricted goods and weight norms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import AuditedModelAdmin, ReadOnlyAdminMixin, admin_actor
from risk import rules, services
from risk.models import (
    Assessment,
    GoodsRestriction,
    RiskHit,
    RiskRule,
    RiskRuleVersion,
    WatchListEntry,
    WeightNorm,
)
from risk.rule_names import risk_rule_name
from single_window.scope import ScopedAdminMixin


class RiskRuleVersionInline(ReadOnlyAdminMixin, admin.TabularInline[Any, Any]):
    model = RiskRuleVersion
    fields = ("version", "changed_by", "created_at", "snapshot")
    readonly_fields = fields
    extra = 0
    ordering = ("-version",)


class RiskRuleForm(forms.ModelForm[RiskRule]):
    class Meta:
        model = RiskRule
        fields = ("code", "name", "kind", "enabled", "outcome", "scope", "scope_value", "parameters")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        kind = cleaned.get("kind")
        if kind:
            try:
                cleaned["parameters"] = rules.clean_parameters(kind, cleaned.get("parameters") or {})
            except ValidationError as exc:
                self.add_error("parameters", exc)
        return cleaned


@admin.register(RiskRule)
class RiskRuleAdmin(ScopedAdminMixin, admin.ModelAdmin[RiskRule]):
    form = RiskRuleForm
    list_display = ("code", "rule_name", "kind", "outcome", "enabled", "scope", "version", "updated_at")
    list_filter = ("kind", "outcome", "enabled", "scope")
    search_fields = ("code", "name")
    readonly_fields = ("version", "created_at", "updated_at")
    inlines = (RiskRuleVersionInline,)

    @admin.display(description=_("name"), ordering="name")
    def rule_name(self, obj: RiskRule) -> str:
        return risk_rule_name(obj.code, obj.name)

    def save_model(self, request: HttpRequest, obj: RiskRule, form: Any, change: bool) -> None:
        # Versioned and audited by the service.
        services.rule_save(rule=obj, actor=admin_actor(request))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Hits name the rule: a rule no longer wanted is disabled, not deleted.
        return False


@admin.register(RiskHit)
class RiskHitAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin[RiskHit]):
    list_display = (
        "created_at",
        "rule_name",
        "rule_version",
        "outcome",
        "inventory_id",
        "list_version",
        "customs_code",
    )
    list_filter = ("outcome", "rule", "customs_code")
    search_fields = ("=inventory_id", "rule_code")
    date_hierarchy = "created_at"
    list_select_related = ("rule",)

    @admin.display(description=_("rule"), ordering="rule_code")
    def rule_name(self, obj: RiskHit) -> str:
        return risk_rule_name(obj.rule_code, obj.rule.name)


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin[Assessment]):
    list_display = ("created_at", "inventory_id", "list_version", "cop_no", "verdict", "state", "review")
    list_filter = ("verdict", "state", "review", "customs_code")
    search_fields = ("=inventory_id", "cop_no")


class WatchListEntryForm(forms.ModelForm[WatchListEntry]):
    """A regulator types the plain value; only the code (enterprises) or the keyed hash is kept."""

    plain_value = forms.CharField(
        label=_("value"),
        max_length=300,
        required=False,
        help_text=_(
            "An enterprise code, an ID number, a phone or an address. Personal data is stored only as its keyed hash."
        ),
    )

    class Meta:
        model = WatchListEntry
        fields = ("kind", "note", "active")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.instance.pk is None:
            plain = (cleaned.get("plain_value") or "").strip()
            kind = cleaned.get("kind")
            if not plain:
                self.add_error("plain_value", _("A value is required."))
            elif kind:
                value, label = services.watch_value(kind, plain)
                if not value:
                    self.add_error("plain_value", _("The value is empty once normalised."))
                self.instance.value, self.instance.label = value, label
        return cleaned


@admin.register(WatchListEntry)
class WatchListEntryAdmin(ScopedAdminMixin, AuditedModelAdmin):
    form = WatchListEntryForm
    list_display = ("kind", "label", "note", "active", "created_at")
    list_filter = ("kind", "active")
    search_fields = ("label", "note")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["kind", "plain_value", "note", "active"] if obj is None else ["kind", "label", "note", "active"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else ["kind", "label"]


@admin.register(GoodsRestriction)
class GoodsRestrictionAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("gcode_prefix", "restriction", "max_qty", "note")
    list_filter = ("restriction",)
    search_fields = ("gcode_prefix", "note")


@admin.register(WeightNorm)
class WeightNormAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("hs_chapter", "basis", "min_kg", "max_kg", "note")
    list_filter = ("basis",)
