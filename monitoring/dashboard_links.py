"""Where the dashboard's figures lead: the declaration lists behind a figure, and the work queues.

Every link opens the admin's list page of declaration lists (``declarations.admin``), which
applies the regulator's scope itself; the links add the filters the page supports:

- ``status__exact`` / ``status__in``, ``trade_mode__exact``, ``customs_code__exact`` (its list
  filters' own parameters, so the page shows them selected);
- ``tax_bill=differs`` (its tax bill filter);
- ``decl_time__gte`` / ``decl_time__lte``: the lists' declaration date, a field of the list
  (the figures count lists by the China-time day they moved, which for a list's declaration is
  its declaration date; a release is dated by the list's declaration date here too);
- ``country``, ``logistics_code``, ``ebc_code``, ``agent_code``: fields of the list.

The list page has no park or city filter, so a region's row leads to the lists of the period.
The work queues are one table (``WORK_QUEUES``): point a queue at another page by editing its row.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.admin import AdminSite
from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from declarations.models import Inventory, InventoryStatus

# The permission that opens the list page: customs officers and auditors hold it; commerce
# bureau analysts read figures only, and get no links.
LISTS_PERMISSION = "declarations.view_inventory"
LISTS_URL_NAME = "admin:declarations_inventory_changelist"

S = InventoryStatus
# Statuses a figure stands for, on the list page (what the lists are in now).
DECLARED = (S.DECLARED, S.ACCEPTED, S.MANUAL_REVIEW, S.INSPECTION, S.DETAINED, S.RELEASED, S.CLOSED)
RELEASED = (S.RELEASED, S.CLOSED)
REJECTED = (S.REJECTED,)
RISK_REVIEWED = (S.RISK_REVIEW, S.RISK_REJECTED)
CUSTOMS_REVIEW = (S.MANUAL_REVIEW,)
INSPECTION = (S.INSPECTION,)
MATCH_FAILED = (S.MATCH_FAILED,)


def lists_query(
    *,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    statuses: tuple[str, ...] = (),
    **fields: str,
) -> dict[str, str]:
    """The list page's query for lists declared in ``[date_from, date_to]``, in ``statuses``,
    with ``fields`` (list fields: ``trade_mode``, ``country``, ``logistics_code``...)."""
    query: dict[str, str] = {}
    if statuses:
        # ``status__exact`` is the list filter's own parameter: the page shows it selected.
        query["status__exact" if len(statuses) == 1 else "status__in"] = ",".join(str(status) for status in statuses)
    if date_from is not None:
        query["decl_time__gte"] = date_from.isoformat()
    if date_to is not None:
        query["decl_time__lte"] = date_to.isoformat()
    query.update({name: value for name, value in fields.items() if value})
    return query


class Links:
    """Builds the links of one page; ``enabled`` is False for a user who may not open the lists."""

    def __init__(self, request: HttpRequest, site: AdminSite, filters: Mapping[str, str] | None = None) -> None:
        self.enabled = request.user.has_perm(LISTS_PERMISSION)
        self.base = reverse(LISTS_URL_NAME, current_app=site.name)
        # The page's own filters (trade mode...), carried by every link.
        self.filters = dict(filters or {})

    def lists(self, **query: Any) -> str:
        """The list page's address for ``lists_query(**query)`` and the page's filters; "" when
        the user may not open it."""
        if not self.enabled:
            return ""
        return f"{self.base}?{urlencode(lists_query(**{**self.filters, **query}))}"


@dataclass(frozen=True)
class WorkQueue:
    """A queue of the work queues panel: a filtered list page and the lists it counts.

    The lists are those in ``status``, or those ``condition`` selects on the list page's own
    queryset (which the admin scopes and annotates)."""

    key: str
    label: Any
    help: Any
    query: Mapping[str, str]
    status: str = ""
    condition: Q | None = None
    url_name: str = LISTS_URL_NAME


def _status_queue(key: str, label: Any, help_text: Any, status: str) -> WorkQueue:
    return WorkQueue(key=key, label=label, help=help_text, query={"status__exact": status}, status=status)


WORK_QUEUES: tuple[WorkQueue, ...] = (
    _status_queue(
        "waiting",
        _("Waiting for documents"),
        _("Lists whose order, payment or waybill has not arrived."),
        S.PENDING_DOCUMENTS,
    ),
    _status_queue(
        "held",
        _("Held before declaring"),
        _("Lists a system of the declare step asked to wait (a guarantee, stock)."),
        S.HELD,
    ),
    _status_queue("match_failed", _("Matching failures"), _("Lists whose documents do not match."), S.MATCH_FAILED),
    _status_queue("risk_review", _("Risk reviews"), _("Lists waiting for a regulator's review."), S.RISK_REVIEW),
    _status_queue("send_failed", _("Send failures"), _("Lists that could not be sent to customs."), S.SEND_FAILED),
    WorkQueue(
        key="tax_bill_differs",
        label=_("Tax bills differing from the estimate"),
        help=_("Customs' tax bill is not what the single window estimated."),
        query={"tax_bill": "differs"},
        # The list page's queryset is annotated with it (declarations.admin.documents).
        condition=Q(bill_differs=True),
    ),
)


@dataclass(frozen=True)
class QueueLink:
    key: str
    label: Any
    help: Any
    url: str
    count: int


def work_queues(request: HttpRequest, site: AdminSite) -> list[QueueLink]:
    """The work queues with the number of lists in each, as the list page counts them for this
    user (its own scoped queryset); none for a user who may not open the list page."""
    model_admin = site.get_model_admin(Inventory)
    if not model_admin.has_view_permission(request):
        return []
    lists = model_admin.get_queryset(request)
    # One query for the queues of a status, one for each other.
    statuses = [queue.status for queue in WORK_QUEUES if queue.status]
    by_status = dict(
        lists.filter(status__in=statuses).order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    links = []
    for queue in WORK_QUEUES:
        count = by_status.get(queue.status, 0) if queue.status else lists.filter(queue.condition or Q()).count()
        url = f"{reverse(queue.url_name, current_app=site.name)}?{urlencode(dict(queue.query))}"
        links.append(QueueLink(key=queue.key, label=queue.label, help=queue.help, url=url, count=count))
    return links
