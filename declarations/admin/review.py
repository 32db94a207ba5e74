"""The regulators' risk review queue: the lists a system of the declare step sent to review.

Oldest first, filtered by the rule that asked for the review, the customs district and the
park; scoped as every list page (``declarations.admin.scope``), so a regulator of another
district neither sees a list nor can act on it. A regulator with the "change" permission of
the queue approves (the list is judged again and, normally, declared and sent to customs) or
rejects it (``risk_rejected``), always with a reason, through the services of the declare
step (``clearance.declare.inventory_risk_approve`` / ``inventory_risk_reject``), which write
the audit entry.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import admin_actor
from core.errors import ApiError
from declarations.admin import display
from declarations.admin.actions import WorkbenchActionsMixin
from declarations.admin.documents import RegulatorAdmin
from declarations.admin.filters import AgeFilter, EnterpriseFilter, ParkFilter
from declarations.clearance import declare
from declarations.clearance.rule_names import rule_name
from declarations.models import DeclareDecision, InventoryInReview, InventoryStatus

APPROVE = "approve"
REJECT = "reject"


def _asked_review(**extra: Any) -> QuerySet[DeclareDecision]:
    """The answers that sent the list's current version to review."""
    return DeclareDecision.objects.filter(
        inventory=OuterRef("pk"), version=OuterRef("version"), verdict="review", **extra
    )


class RuleFilter(admin.SimpleListFilter):
    title = _("rule")
    parameter_name = "rule"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        lists = model_admin.get_queryset(request).values("pk")
        codes: set[str] = set()
        for reasons in DeclareDecision.objects.filter(inventory__in=lists, verdict="review").values_list(
            "reasons", flat=True
        ):
            codes.update(str(reason.get("code", "")) for reason in reasons or [] if reason.get("code"))
        return [(code, rule_name(code)) for code in sorted(codes)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        return queryset.filter(Exists(_asked_review(reasons__contains=[{"code": self.value()}])))


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=((APPROVE, _("approve")), (REJECT, _("reject"))))
    reason = forms.CharField(label=_("reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


@admin.register(InventoryInReview)
class RiskReviewAdmin(WorkbenchActionsMixin, RegulatorAdmin):
    list_display = ("cop_no", "customs_code_shown", "trade_mode_shown", "review_reasons", "updated_at")
    list_filter = (
        RuleFilter,
        "customs_code",
        ParkFilter,
        # The workbench's filters (declarations/admin/filters.py), as every queue has them.
        EnterpriseFilter,
        AgeFilter,
        ("decl_time", admin.DateFieldListFilter),
    )
    search_fields = ("cop_no", "order_no", "logistics_no")
    ordering = ("updated_at", "id")
    review_template = "admin/declarations/inventoryinreview/review.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(status=InventoryStatus.RISK_REVIEW)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("customs district of declaration"), ordering="customs_code")
    def customs_code_shown(self, obj: Any) -> str:
        return display.code_label("customs_code", obj.customs_code)

    @admin.display(description=_("trade mode"), ordering="trade_mode")
    def trade_mode_shown(self, obj: Any) -> str:
        return display.code_label("trade_mode", obj.trade_mode)

    @admin.display(description=_("reasons"))
    def review_reasons(self, obj: Any) -> str:
        return ", ".join(rule_name(code) for code, _message, _evidence in self._reasons(obj))

    def _reasons(self, obj: Any) -> list[tuple[str, str, dict[str, Any]]]:
        decisions = DeclareDecision.objects.filter(inventory=obj, version=obj.version, verdict="review")
        return [
            (str(r.get("code", "")), str(r.get("message", "")), dict(r.get("evidence") or {}))
            for decision in decisions.order_by("system")
            for r in decision.reasons or []
        ]

    def _named_reasons(self, obj: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
        return [(code, rule_name(code), message, evidence) for code, message, evidence in self._reasons(obj)]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The list's reasons and the approve / reject form; a list out of scope does not exist."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            redirect: HttpResponse = self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined]
                request, self.opts, object_id
            )
            return redirect
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        form = ReviewForm(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
            if form.is_valid():
                return self._conclude(request, obj, form.cleaned_data["decision"], form.cleaned_data["reason"])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": gettext("Review list %(list)s") % {"list": obj},
            "form": form,
            "reasons": self._named_reasons(obj),
            "can_conclude": self.has_change_permission(request, obj),
            "list_url": reverse("admin:declarations_inventory_change", args=[obj.pk], current_app=self.admin_site.name),
        }
        return TemplateResponse(request, self.review_template, context)

    def _conclude(self, request: HttpRequest, obj: Any, decision: str, reason: str) -> HttpResponse:
        service = declare.inventory_risk_approve if decision == APPROVE else declare.inventory_risk_reject
        try:
            status = service(inventory_id=obj.pk, actor=admin_actor(request), reason=reason)
        except ApiError as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)
        else:
            self.message_user(
                request, gettext("List %(list)s is now %(status)s.") % {"list": obj, "status": status}, messages.SUCCESS
            )
        return HttpResponseRedirect(
            reverse("admin:declarations_inventoryinreview_changelist", current_app=self.admin_site.name)
        )
