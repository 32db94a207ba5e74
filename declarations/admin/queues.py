"""The regulators' work queues: each a list page of its own (a proxy of the list), scoped as
every list page (``declarations.admin.scope``), oldest first, with the workbench's actions and
exports.

- lists waiting for documents longer than ``WORKBENCH_WAITING_AFTER_MINUTES``;
- matching failures (filter: the failed rule of the last run);
- send failures (the gateway or the outbox could not deliver; the note says why);
- tax bills with differences (finance's bills in force that differ from the estimate).

The risk review queue is its own page (``declarations.admin.review``). Every queue filters by
enterprise, park, customs district, age in its state and declaration date.
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.contrib import admin
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from declarations.admin.actions import WorkbenchActionsMixin
from declarations.admin.documents import DocumentAdmin
from declarations.admin.filters import (
    AgeFilter,
    EnterpriseFilter,
    FailedRuleFilter,
    ParkFilter,
    state_since,
    with_state_since,
)
from declarations.clearance import history_notes
from declarations.clearance.rule_names import rule_name
from declarations.kinds import INVENTORY
from declarations.models import (
    InventoryStatus,
    InventoryStatusChange,
    ListAssignment,
    ListHold,
    ListMatchFailure,
    ListSendFailure,
    ListTaxBillDifference,
    ListWaitingForDocuments,
    RuleResult,
)
from finance import selectors as finance

# The filters every queue has, after its own.
COMMON_FILTERS: tuple[Any, ...] = (
    EnterpriseFilter,
    ParkFilter,
    "customs_code",
    AgeFilter,
    ("decl_time", admin.DateFieldListFilter),
)


class QueueAdmin(WorkbenchActionsMixin, DocumentAdmin):
    """A work queue: the lists of one state (``queue_filter``), oldest in it first."""

    document_type = INVENTORY
    queue_filter: ClassVar[Q] = Q()
    list_display: tuple[str, ...] = (
        "cop_no",
        "ebc_code",
        "customs_code",
        "in_state_since",
        "assignee",
        "held",
    )
    list_filter: ClassVar[Any] = COMMON_FILTERS
    search_fields = ("cop_no", "invt_no", "order_no", "logistics_no")

    def get_ordering(self, request: HttpRequest) -> tuple[Any, ...]:
        # Oldest in its state first: an expression, which ``ordering`` (read by the checks) can't name.
        return (state_since().asc(), "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        lists = super().get_queryset(request).filter(self.queue_filter)
        current = ListAssignment.objects.filter(inventory=OuterRef("pk"), ended_at__isnull=True)
        annotated: QuerySet[Any] = with_state_since(lists).annotate(
            assignee_name=Subquery(current.values("assignee__username")[:1]),
            on_hold=Exists(ListHold.objects.filter(inventory=OuterRef("pk"), released_at__isnull=True)),
        )
        return annotated

    @admin.display(description=_("in its state since"), ordering="state_since")
    def in_state_since(self, obj: Any) -> Any:
        return obj.state_since

    @admin.display(description=_("assigned to"))
    def assignee(self, obj: Any) -> str:
        return str(obj.assignee_name or "")

    @admin.display(description=_("held by a regulator"), boolean=True)
    def held(self, obj: Any) -> bool:
        return bool(obj.on_hold)


@admin.register(ListWaitingForDocuments)
class WaitingForDocumentsAdmin(QueueAdmin):
    queue_filter = Q(status=InventoryStatus.PENDING_DOCUMENTS)
    list_display = (*QueueAdmin.list_display, "missing")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        since = timezone.now() - datetime.timedelta(minutes=settings.WORKBENCH_WAITING_AFTER_MINUTES)
        return super().get_queryset(request).filter(state_since__lte=since)

    @admin.display(description=_("waiting for"))
    def missing(self, obj: Any) -> str:
        return ", ".join(str(document) for document in obj.waiting_for or [])


@admin.register(ListMatchFailure)
class MatchFailuresAdmin(QueueAdmin):
    queue_filter = Q(status=InventoryStatus.MATCH_FAILED)
    list_display = (*QueueAdmin.list_display, "failed_rules")
    list_filter = (FailedRuleFilter, *COMMON_FILTERS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # The rules' outcomes come with the page's lists (one query for a page), not per row.
        outcomes = RuleResult.objects.only("inventory_id", "run", "rule", "outcome")
        return super().get_queryset(request).prefetch_related(Prefetch("rule_results", queryset=outcomes))

    @admin.display(description=_("failed rules"))
    def failed_rules(self, obj: Any) -> str:
        """The rules the list's last matching run failed."""
        results = list(obj.rule_results.all())
        if not results:
            return ""
        last = max(result.run for result in results)
        failed = {r.rule for r in results if r.run == last and r.outcome == RuleResult.Outcome.FAILED}
        return ", ".join(str(rule_name(rule)) for rule in sorted(failed))


@admin.register(ListSendFailure)
class SendFailuresAdmin(QueueAdmin):
    queue_filter = Q(status=InventoryStatus.SEND_FAILED)
    list_display = (*QueueAdmin.list_display, "why")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # The moves to send_failed come with the page's lists (one query for a page), not per row.
        failures = InventoryStatusChange.objects.filter(to_status=InventoryStatus.SEND_FAILED).order_by(
            "-created_at", "-id"
        )
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("status_changes", queryset=failures, to_attr="send_failures"))
        )

    @admin.display(description=_("why"))
    def why(self, obj: Any) -> str:
        """The note of the list's latest move to send_failed, in the page's language."""
        failures = getattr(obj, "send_failures", None)
        return history_notes.note_display(failures[0]) if failures else ""


@admin.register(ListTaxBillDifference)
class TaxBillDifferencesAdmin(QueueAdmin):
    """Lists whose tax bill in force (finance's, CEB816) differs from the single window's estimate."""

    list_display = (*QueueAdmin.list_display, "differences")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        differing = finance.tax_bills_in_force().filter(inventory_id=OuterRef("pk")).exclude(differences={})
        return super().get_queryset(request).filter(Exists(differing))

    @admin.display(description=_("differences"))
    def differences(self, obj: Any) -> str:
        bills = finance.tax_bills_in_force().filter(inventory_id=obj.pk).exclude(differences={})
        return "; ".join(f"{bill.tax_no}: {', '.join(sorted(bill.differences))}" for bill in bills)
