"""The regulators' actions on the selected lists of a list page (the lists, the queues, the
risk review queue): a note, an assignment to a colleague, a hold and its release, a return for
correction, matching run again.

Each asks for its reason (and, to assign, the colleague) on an intermediate page, then calls
the service (``declarations.workbench.services``), which checks the right to act and the
scope again, and writes the effect and the audit trail in one transaction. Only a user who may
act sees the actions; a selected list out of scope refuses the whole action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import ApiError
from declarations.models import Inventory, WorkbenchActionKind
from declarations.workbench import services
from single_window.models import RegulatorScope

Kind = WorkbenchActionKind
ACTION_TEMPLATE = "admin/declarations/workbench/action.html"
APPLY = "apply"


class ActionForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, kind: str, colleagues: QuerySet[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kind == Kind.NOTE:
            self.fields["reason"].label = _("note")
        if kind == Kind.RETURN_FOR_CORRECTION:
            self.fields["reason"].help_text = _("Sent to the enterprise with the list: say what to correct.")
        if kind == Kind.ASSIGN:
            self.fields["assignee"] = forms.ModelChoiceField(
                label=_("colleague"), queryset=colleagues if colleagues is not None else get_user_model().objects.none()
            )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


def colleagues_of(user: Any) -> QuerySet[Any]:
    """Regulators sharing a district or park with ``user`` who may act on lists."""
    mine = RegulatorScope.objects.filter(user_id=user.pk)
    districts = [s.customs_district for s in mine if s.customs_district]
    parks = [s.park_id for s in mine if s.park_id is not None]
    shared = RegulatorScope.objects.filter(customs_district__in=districts) | RegulatorScope.objects.filter(
        park_id__in=parks
    )
    candidates = get_user_model().objects.filter(is_active=True, is_staff=True, pk__in=shared.values("user_id"))
    # Few users share a district: their permissions (groups and their own) are checked one by one.
    acting = [candidate.pk for candidate in candidates if services.may_act(candidate)]
    return get_user_model().objects.filter(pk__in=acting).order_by("username")


# The actions, in the order the menu shows them: (kind, label, what the page asks).
ACTIONS: tuple[tuple[str, Any], ...] = (
    (Kind.NOTE, _("Add a note to the selected lists")),
    (Kind.ASSIGN, _("Assign the selected lists to a colleague")),
    (Kind.HOLD, _("Hold the selected lists (not sent to customs)")),
    (Kind.RELEASE, _("Release the hold on the selected lists")),
    (Kind.RETURN_FOR_CORRECTION, _("Return the selected lists to their enterprise for correction")),
    (Kind.REMATCH, _("Run matching again on the selected lists")),
)


class WorkbenchActionsMixin:
    """Adds the workbench's actions to a ``ModelAdmin`` of declaration lists (or proxies of them)."""

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request)  # type: ignore[misc]
        if not services.may_act(request.user):
            return actions
        for kind, label in ACTIONS:
            name = f"workbench_{kind}"
            actions[name] = (self._action(kind), name, label)
        return actions

    def _action(self, kind: str) -> Callable[[Any, HttpRequest, QuerySet[Any]], HttpResponse | None]:
        def run(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
            return self.workbench_action(request, queryset, kind)

        return run

    def workbench_action(self, request: HttpRequest, queryset: QuerySet[Any], kind: str) -> HttpResponse | None:
        """The intermediate page (reason, colleague), then the service; back to the list page."""
        if not services.may_act(request.user):
            raise PermissionDenied
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        across = request.POST.get("select_across") == "1"
        lists = list(queryset.order_by("pk"))
        if not across and {str(i.pk) for i in lists} != set(selected):
            # The page's queryset is scoped: a selected id missing from it is out of scope.
            self.message_user(  # type: ignore[attr-defined]
                request,
                gettext("A selected list is outside your districts and parks; nothing was done."),
                messages.ERROR,
            )
            return None
        colleagues = colleagues_of(request.user) if kind == Kind.ASSIGN else None
        form = ActionForm(request.POST if APPLY in request.POST else None, kind=kind, colleagues=colleagues)
        if form.is_bound and form.is_valid():
            self._apply(request, kind, lists, form.cleaned_data)
            return None
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": self.opts,  # type: ignore[attr-defined]
            "title": dict(ACTIONS)[kind],
            "form": form,
            "lists": lists,
            "selected": selected,
            "select_across": "1" if across else "0",
            "action": f"workbench_{kind}",
            "apply": APPLY,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, ACTION_TEMPLATE, context)

    def _apply(self, request: HttpRequest, kind: str, lists: list[Inventory], data: dict[str, Any]) -> None:
        ids = [i.pk for i in lists]
        try:
            if kind == Kind.NOTE:
                outcome = services.lists_note(user=request.user, inventory_ids=ids, text=data["reason"])
            elif kind == Kind.ASSIGN:
                outcome = services.lists_assign(
                    user=request.user, inventory_ids=ids, assignee=data["assignee"], reason=data["reason"]
                )
            else:
                outcome = services.SERVICES[kind](user=request.user, inventory_ids=ids, reason=data["reason"])
        except (services.ActionRefused, ApiError, PermissionDenied) as refusal:
            self.message_user(request, gettext("Nothing was done: %(why)s") % {"why": refusal}, messages.ERROR)  # type: ignore[attr-defined]
            return
        self.message_user(  # type: ignore[attr-defined]
            request,
            gettext("%(action)s: done for %(count)s lists.")
            % {"action": outcome.action.get_action_display(), "count": len(outcome.lists)},
            messages.SUCCESS,
        )
