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
The work queues are one table (``WORK_QUEUES``): the workbench's queue pages of the declarations
admin (docs/workbench.md).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from declarations.models import InventoryStatus

# The permission that opens the list page: customs officers, auditors and commerce-bureau
# analysts hold it (analysts read lists with personal data masked).
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
    """A queue of the work queues panel: a page of the declarations admin, and as many lists as
    that page shows the user (its own scoped queryset), so the count and the page agree.

    ``model`` is the queue's admin model (``app_label.model_name``); ``query`` filters its page."""

    key: str
    label: Any
    help: Any
    model: str
    query: Mapping[str, str] = field(default_factory=dict)


WORK_QUEUES: tuple[WorkQueue, ...] = (
    WorkQueue(
        "waiting",
        _("Waiting for documents"),
        _("Lists whose order, payment or waybill has not arrived for longer than the set time."),
        "declarations.listwaitingfordocuments",
    ),
    WorkQueue(
        "held",
        _("Held before declaring"),
        _("Lists a system of the declare step asked to wait (a guarantee, stock)."),
        "declarations.inventory",
        {"status__exact": S.HELD},
    ),
    WorkQueue(
        "match_failed",
        _("Matching failures"),
        _("Lists whose documents do not match."),
        "declarations.listmatchfailure",
    ),
    WorkQueue(
        "risk_review", _("Risk reviews"), _("Lists waiting for a regulator's review."), "declarations.inventoryinreview"
    ),
    WorkQueue(
        "send_failed", _("Send failures"), _("Lists that could not be sent to customs."), "declarations.listsendfailure"
    ),
    WorkQueue(
        "tax_bill_differs",
        _("Tax bills differing from the estimate"),
        _("Customs' tax bill is not what the single window estimated."),
        "declarations.listtaxbilldifference",
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
    """The work queues this user may open, each with the number of lists its page shows them."""
    links = []
    for queue in WORK_QUEUES:
        model = apps.get_model(queue.model)
        model_admin = site.get_model_admin(model)
        if not model_admin.has_view_permission(request):
            continue
        lists = model_admin.get_queryset(request).filter(**dict(queue.query)).order_by()
        url_name = f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        url = reverse(url_name, current_app=site.name)
        if queue.query:
            url = f"{url}?{urlencode(dict(queue.query))}"
        links.append(QueueLink(key=queue.key, label=queue.label, help=queue.help, url=url, count=lists.count()))
    return links
