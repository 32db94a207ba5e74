"""The regulators' console for credit: customs classes and decisions, profiles with how their
score moved and why, credit events (penalties, commendations and certifications recorded
here), grade overrides, consents and who read each report.

Every page applies the regulator's scope (``credit.scope``); every change is audited, through
``AuditedModelAdmin`` or the credit services, which audit what they write.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from core.admin import AuditedModelAdmin, admin_actor
from credit import selectors, services
from credit.models import (
    REGULATOR_KINDS,
    CreditConsent,
    CreditEvent,
    CreditEventSource,
    CreditGradeOverride,
    CreditProfile,
    CreditReportRead,
    CustomsClass,
    CustomsClassDecision,
    ScoreTrigger,
)
from single_window.scope import ScopedAdminMixin


def _explained(explanation: dict[str, Any]) -> str:
    """An explanation in one line: each kind's count and points."""
    parts = [
        f"{item['kind']} x{item['count']}: {item['contribution']:+}" for item in explanation.get("contributions", [])
    ]
    return "; ".join(parts) or str(_("nothing recorded: the base score"))


@admin.register(CustomsClass)
class CustomsClassAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("rank", "code", "name_en", "name_zh", "inspection_rate", "is_default")
    ordering = ("rank",)

    def has_delete_permission(self, request: HttpRequest, obj: CustomsClass | None = None) -> bool:
        return False  # decisions name the classes; a class leaves by being renamed or re-ranked


@admin.register(CustomsClassDecision)
class CustomsClassDecisionAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("enterprise", "customs_class", "source", "decision_reference", "decided_on", "effective_from")
    list_filter = ("customs_class", "source")
    search_fields = ("enterprise__name", "enterprise__customs_code", "enterprise__uscc", "decision_reference")
    list_select_related = ("enterprise", "customs_class")
    autocomplete_fields = ("enterprise",)
    date_hierarchy = "effective_from"


@admin.register(CreditProfile)
class CreditProfileAdmin(ScopedAdminMixin, admin.ModelAdmin[CreditProfile]):
    """Read-only: scores are computed. The page shows how the score moved and why."""

    list_display = ("enterprise", "score", "grade", "grade_in_force", "computed_at")
    list_filter = ("grade",)
    search_fields = ("enterprise__name", "enterprise__customs_code", "enterprise__uscc")
    list_select_related = ("enterprise",)
    fields = ("enterprise", "score", "grade", "grade_in_force", "computed_at", "explained", "history", "events")
    readonly_fields = fields
    actions = ("recompute",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CreditProfile | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[CreditProfile]:
        standing = CreditGradeOverride.objects.filter(enterprise=OuterRef("enterprise"), lifted_at__isnull=True)
        profiles: QuerySet[CreditProfile] = super().get_queryset(request)
        return profiles.annotate(override_grade=Subquery(standing.values("grade")[:1]))

    @admin.display(description=_("grade in force"))
    def grade_in_force(self, obj: CreditProfile) -> str:
        override = getattr(obj, "override_grade", None)
        return str(_("%(grade)s (override)") % {"grade": override}) if override else obj.grade

    @admin.display(description=_("how it is computed"))
    def explained(self, obj: CreditProfile) -> str:
        return _explained(obj.explanation)

    @admin.display(description=_("score history (latest 50)"))
    def history(self, obj: CreditProfile) -> SafeString:
        rows = selectors.score_history_of(enterprise_id=obj.enterprise_id)
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("computed at"),
            _("score"),
            _("grade"),
            _("trigger"),
            _("why"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        f"{row.computed_at:%Y-%m-%d %H:%M}",
                        row.score,
                        row.grade,
                        f"{row.get_trigger_display()}" + (f" #{row.credit_event_id}" if row.credit_event_id else ""),
                        _explained(row.explanation),
                    )
                    for row in rows
                ),
            ),
        )

    @admin.display(description=_("credit events (latest 50)"))
    def events(self, obj: CreditProfile) -> SafeString:
        rows = selectors.credit_events_of(enterprise_id=obj.enterprise_id)
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("occurred at"),
            _("kind"),
            _("weight"),
            _("source reference"),
            _("annulled"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        f"{row.occurred_at:%Y-%m-%d %H:%M}",
                        row.get_kind_display(),
                        f"{row.weight:+d}",
                        row.source_reference,
                        row.annul_reason if row.annulled_at else "",
                    )
                    for row in rows
                ),
            ),
        )

    @admin.action(description=_("Recompute the selected profiles now"), permissions=["change"])
    def recompute(self, request: HttpRequest, queryset: QuerySet[CreditProfile]) -> None:
        for profile in queryset:
            services.credit_score_recompute(enterprise_id=profile.enterprise_id, trigger=ScoreTrigger.MANUAL)
        self.message_user(request, _("%(count)d profiles recomputed.") % {"count": queryset.count()})


class CreditEventAddForm(forms.ModelForm[CreditEvent]):
    """A regulator's entry: a penalty, a commendation or a certification, with the decision it
    records. The weight is the kind's unless given (within the kind's range, docs/credit.md)."""

    kind = forms.ChoiceField(choices=[(k.value, k.label) for k in REGULATOR_KINDS], label=_("kind"))
    weight = forms.IntegerField(
        required=False,
        label=_("weight"),
        help_text=_(
            "Empty: the kind's weight. Penalties weigh below 0, commendations and certifications above; "
            "each kind has its range (docs/credit.md)."
        ),
    )
    source_reference = forms.CharField(
        max_length=120, label=_("decision reference"), help_text=_("The number of the decision this records.")
    )
    note = forms.CharField(max_length=500, required=False, label=_("note"))

    class Meta:
        model = CreditEvent
        fields = ("enterprise", "kind", "occurred_at", "weight", "source_reference")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        problems = services.credit_event_problems(
            kind=data.get("kind", ""), weight=data.get("weight"), reference=data.get("source_reference", "")
        )
        for problem in problems:
            field = "source_reference" if problem.field == "reference" else problem.field
            self.add_error(field if field in self.fields else None, str(problem.message))
        return data


class CreditEventChangeForm(forms.ModelForm[CreditEvent]):
    class Meta:
        model = CreditEvent
        fields = ("annul_reason",)


@admin.register(CreditEvent)
class CreditEventAdmin(ScopedAdminMixin, admin.ModelAdmin[CreditEvent]):
    """Learned events are read-only; a regulator adds its own entries, and annuls one of them by
    giving the reason (it stays on record and stops counting)."""

    list_display = ("enterprise", "kind", "weight", "occurred_at", "source", "source_reference", "annulled_at")
    list_filter = ("kind", "source")
    search_fields = ("enterprise__name", "enterprise__customs_code", "enterprise__uscc", "source_reference", "subject")
    list_select_related = ("enterprise",)
    autocomplete_fields = ("enterprise",)
    date_hierarchy = "occurred_at"
    shown = (
        "enterprise",
        "kind",
        "weight",
        "occurred_at",
        "source",
        "source_reference",
        "source_event_id",
        "subject",
        "details",
        "recorded_at",
        "recorded_by",
        "annulled_at",
    )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = CreditEventChangeForm if obj is not None else CreditEventAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("enterprise", "kind", "occurred_at", "weight", "source_reference", "note")
        return (*self.shown, "annul_reason")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        annullable = obj.source == CreditEventSource.REGULATOR and obj.annulled_at is None
        return self.shown if annullable else (*self.shown, "annul_reason")

    def has_delete_permission(self, request: HttpRequest, obj: CreditEvent | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CreditEvent, form: Any, change: bool) -> None:
        if change:
            reason = form.cleaned_data.get("annul_reason", "")
            if reason:
                saved = services.credit_event_annul(event=obj, reason=reason, actor=admin_actor(request))
                obj.annulled_at, obj.annul_reason = saved.annulled_at, saved.annul_reason
            return
        data = form.cleaned_data
        saved = services.credit_event_record(
            enterprise=data["enterprise"],
            kind=data["kind"],
            occurred_at=data["occurred_at"],
            reference=data["source_reference"],
            weight=data.get("weight"),
            note=data.get("note", ""),
            actor=admin_actor(request),
        )
        obj.pk, obj.weight, obj.source, obj._state.adding = saved.pk, saved.weight, saved.source, False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing related; the service audited the entry."""


class GradeOverrideAddForm(forms.ModelForm[CreditGradeOverride]):
    class Meta:
        model = CreditGradeOverride
        fields = ("enterprise", "grade", "reason")


class GradeOverrideChangeForm(forms.ModelForm[CreditGradeOverride]):
    class Meta:
        model = CreditGradeOverride
        fields = ("lift_reason",)


@admin.register(CreditGradeOverride)
class CreditGradeOverrideAdmin(ScopedAdminMixin, admin.ModelAdmin[CreditGradeOverride]):
    """A regulator sets a grade by hand with a reason (replacing the override in force), and
    lifts one by giving the reason. Both audited by the services."""

    list_display = ("enterprise", "grade", "reason", "set_at", "set_by", "lifted_at")
    list_filter = ("grade",)
    search_fields = ("enterprise__name", "enterprise__customs_code", "enterprise__uscc", "reason")
    list_select_related = ("enterprise",)
    autocomplete_fields = ("enterprise",)
    shown = ("enterprise", "grade", "reason", "set_at", "set_by", "lifted_at", "lifted_by")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = GradeOverrideChangeForm if obj is not None else GradeOverrideAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("enterprise", "grade", "reason") if obj is None else (*self.shown, "lift_reason")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return self.shown if obj.lifted_at is None else (*self.shown, "lift_reason")

    def has_delete_permission(self, request: HttpRequest, obj: CreditGradeOverride | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CreditGradeOverride, form: Any, change: bool) -> None:
        if change:
            reason = form.cleaned_data.get("lift_reason", "")
            if reason:
                lifted = services.credit_grade_override_lift(override=obj, reason=reason, actor=admin_actor(request))
                obj.lifted_at = lifted.lifted_at
            return
        data = form.cleaned_data
        saved = services.credit_grade_override_set(
            enterprise=data["enterprise"], grade=data["grade"], reason=data["reason"], actor=admin_actor(request)
        )
        obj.pk, obj.set_at, obj.set_by, obj._state.adding = saved.pk, saved.set_at, saved.set_by, False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing related; the service audited the override."""


@admin.register(CreditConsent)
class CreditConsentAdmin(ScopedAdminMixin, admin.ModelAdmin[CreditConsent]):
    """Read-only: enterprises grant and revoke consents over the API."""

    list_display = ("grantor", "grantee", "purpose", "granted_at", "expires_at", "ended_at")
    list_filter = ("purpose",)
    search_fields = ("grantor__name", "grantor__customs_code", "grantee__name", "grantee__customs_code")
    list_select_related = ("grantor", "grantee")
    readonly_fields = ("grantor", "grantee", "purpose", "granted_at", "expires_at", "ended_at", "granted_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CreditConsent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CreditConsent | None = None) -> bool:
        return False


@admin.register(CreditReportRead)
class CreditReportReadAdmin(ScopedAdminMixin, admin.ModelAdmin[CreditReportRead]):
    list_display = ("enterprise", "reader_enterprise", "reader_user", "consent", "read_at")
    search_fields = ("enterprise__name", "enterprise__customs_code", "reader_enterprise__name")
    list_select_related = ("enterprise", "reader_enterprise", "reader_user", "consent")
    readonly_fields = ("enterprise", "reader_enterprise", "reader_user", "consent", "read_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CreditReportRead | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CreditReportRead | None = None) -> bool:
        return False
