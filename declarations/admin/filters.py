"""Filters of the regulators' list pages of declaration lists (the queues, the risk review):
the failed rule of the last matching run, an enterprise named in the list, its age in its
state. Each filter offers only what is in the regulator's scope.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from declarations.models import InventoryStatusChange, RuleResult
from single_window.models import Enterprise
from single_window.scope import scope_for

# Age buckets of a list in its state: (value, label, (at least, less than)).
AGES: tuple[tuple[str, Any, tuple[datetime.timedelta | None, datetime.timedelta | None]], ...] = (
    ("hour", _("less than an hour"), (None, datetime.timedelta(hours=1))),
    ("day", _("1 to 24 hours"), (datetime.timedelta(hours=1), datetime.timedelta(days=1))),
    ("week", _("1 to 7 days"), (datetime.timedelta(days=1), datetime.timedelta(days=7))),
    ("older", _("more than 7 days"), (datetime.timedelta(days=7), None)),
)


def state_since() -> Coalesce:
    """When a list entered its current state: its latest move there (else its creation)."""
    entered = (
        InventoryStatusChange.objects.filter(inventory=OuterRef("pk"), to_status=OuterRef("status"), applied=True)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    return Coalesce(Subquery(entered, output_field=DateTimeField()), F("created_at"))


def with_state_since(lists: QuerySet[Any]) -> QuerySet[Any]:
    """The lists with ``state_since`` (``state_since()``)."""
    annotated: QuerySet[Any] = lists.annotate(state_since=state_since())
    return annotated


def with_last_run(lists: QuerySet[Any]) -> QuerySet[Any]:
    """``last_run``: the list's latest matching run."""
    last = RuleResult.objects.filter(inventory=OuterRef("pk")).order_by("-run").values("run")[:1]
    annotated: QuerySet[Any] = lists.annotate(last_run=Subquery(last))
    return annotated


class FailedRuleFilter(admin.SimpleListFilter):
    """Lists whose last matching run failed the rule."""

    title = _("failed rule")
    parameter_name = "failed_rule"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        lists = model_admin.get_queryset(request).values("pk")
        rules = (
            RuleResult.objects.filter(inventory__in=lists, outcome=RuleResult.Outcome.FAILED)
            .values_list("rule", flat=True)
            .distinct()
        )
        return [(rule, rule) for rule in sorted(rules)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        failed = RuleResult.objects.filter(
            inventory=OuterRef("pk"), run=OuterRef("last_run"), outcome=RuleResult.Outcome.FAILED, rule=self.value()
        )
        return with_last_run(queryset).filter(Exists(failed))


class EnterpriseFilter(admin.SimpleListFilter):
    """Lists naming the enterprise, in any part (agent, e-commerce enterprise, platform,
    logistics, bonded warehouse), by its customs code or USCC."""

    title = _("enterprise")
    parameter_name = "enterprise"
    PARTS = ("agent_code", "ebc_code", "ebp_code", "logistics_code", "area_code")

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        enterprises = scope_for(request).enterprises().order_by("name")[:200]
        return [(str(e.pk), f"{e.code} {e.name}") for e in enterprises]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = str(self.value() or "")
        if not value.isdigit():
            return queryset
        enterprise = scope_for(request).enterprises().filter(pk=int(value)).first()
        if enterprise is None:
            return queryset.none()
        named = Q(pk__in=[])
        for part in self.PARTS:
            named |= Q(**{f"{part}__in": enterprise.codes})
        return queryset.filter(named)


class AgeFilter(admin.SimpleListFilter):
    """How long the list has been in its state."""

    title = _("age in its state")
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(value, label) for value, label, _bounds in AGES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        bounds = {value: bounds for value, _label, bounds in AGES}.get(str(self.value() or ""))
        if bounds is None:
            return queryset
        if "state_since" not in queryset.query.annotations:
            queryset = with_state_since(queryset)
        now = timezone.now()
        low, high = bounds
        if low is not None:
            queryset = queryset.filter(state_since__lte=now - low)
        if high is not None:
            queryset = queryset.filter(state_since__gt=now - high)
        return queryset


class ParkFilter(admin.SimpleListFilter):
    """The park of the list's area enterprise or, without one, of its declaring agent."""

    title = _("park")
    parameter_name = "park"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(park.pk), f"{park.code} {park.name}") for park in scope_for(request).parks().order_by("code")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value() or not str(self.value()).isdigit():
            return queryset
        enterprises = Enterprise.objects.filter(park_id=int(str(self.value())))
        codes = [c for pair in enterprises.values_list("customs_code", "uscc") for c in pair if c]
        return queryset.filter(Q(area_code__in=codes) | Q(area_code="", agent_code__in=codes))
