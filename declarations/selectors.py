"""Reads of the import documents: who may see which.

How a document looks to its reader is its output serializer's (``declarations.intake.outputs``).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Max, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from declarations.clearance import match_rules
from declarations.clearance.declare import DECLARE_TIMEOUT
from declarations.kinds import INVENTORY, ORDER, PAYMENT, WAYBILL, DocumentType
from declarations.models import (
    ArrivalManifest,
    CountryCode,
    Declaration,
    DocumentStatus,
    ExportList,
    ExportListItem,
    ExportListStatus,
    ExportListStatusChange,
    Inventory,
    InventoryItem,
    InventoryReturn,
    InventoryStatus,
    InventoryStatusChange,
    Order,
    Payment,
    RuleResult,
    TaxEstimate,
    TaxEstimateItem,
    Waybill,
    WaybillDeliveryNotice,
)
from finance import rates as finance_rates
from finance import selectors as finance
from finance.currencies import CNY
from finance.models import ExchangeRate
from logistics import selectors as logistics
from single_window import selectors as registry
from single_window.lookups import PaymentFacts
from single_window.models import Enterprise, Park


def _stored_code(code: str) -> str:
    """The code documents store an enterprise under (``Enterprise.code``, as intake normalises
    them), so a reader may name it by its customs code or its USCC."""
    enterprise = registry.enterprise_get_by_code(code=code)
    return enterprise.code if enterprise is not None else code


def documents_visible_to(*, kind: DocumentType, enterprise: Enterprise) -> QuerySet[Any]:
    """What the enterprise sent, and what names it as a party; nothing else."""
    own_codes = [c for c in (enterprise.customs_code, enterprise.uscc) if c]
    named = Q()
    for field in kind.party_fields:
        named |= Q(**{f"{field}__in": own_codes})
    queryset: QuerySet[Any] = kind.model._default_manager.filter(Q(sender=enterprise) | named)
    return _with_answer_relations(kind, queryset)


def _with_answer_relations(kind: DocumentType, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Load what the answer shows with the documents (items, a list's tax estimate), not one
    query per document."""
    if kind.line_model is not None:
        queryset = queryset.prefetch_related("items")
    if kind.is_list:
        queryset = queryset.select_related("tax_estimate").prefetch_related("tax_estimate__items")
    return queryset


def document_by_key(*, kind: DocumentType, enterprise: Enterprise, first: str, second: str) -> Declaration | None:
    """The live (or latest) document of a business key, if the enterprise may see it."""
    a, b = kind.business_key
    queryset = documents_visible_to(kind=kind, enterprise=enterprise).filter(**{a: _stored_code(first), b: second})
    ordering = "-generation" if kind.reusable_key else "-created_at"
    return queryset.order_by(ordering, "-id").first()


def document_list(
    *,
    kind: DocumentType,
    enterprise: Enterprise,
    status: str | None = None,
    updated_since: datetime.datetime | None = None,
) -> QuerySet[Any]:
    queryset = documents_visible_to(kind=kind, enterprise=enterprise)
    if status:
        queryset = queryset.filter(status=status)
    if updated_since:
        queryset = queryset.filter(updated_at__gt=updated_since)
    return queryset


def inventory_for_cancel(*, enterprise: Enterprise, inventory_id: int) -> Inventory | None:
    """A list its declaring enterprise or e-commerce enterprise may ask to cancel."""
    own_codes = [c for c in (enterprise.customs_code, enterprise.uscc) if c]
    return (
        Inventory.objects.filter(pk=inventory_id)
        .filter(Q(sender=enterprise) | Q(agent_code__in=own_codes) | Q(ebc_code__in=own_codes))
        .first()
    )


def inventory_for_return(*, enterprise: Enterprise, inventory_id: int) -> Inventory | None:
    """A list whose declaring agent (``agent_code``) is the enterprise: only it files or reads
    the list's returns; anyone else gets what a list that does not exist gets."""
    own_codes = [c for c in (enterprise.customs_code, enterprise.uscc) if c]
    return Inventory.objects.filter(pk=inventory_id, agent_code__in=own_codes).first()


def inventory_returns(*, inventory: Inventory) -> QuerySet[InventoryReturn]:
    """The list's return requests, oldest first, with their lines."""
    return InventoryReturn.objects.filter(inventory=inventory).prefetch_related("items").order_by("created_at", "id")


def _return_event(inventory_return: InventoryReturn) -> dict[str, Any]:
    return {
        "type": "return",
        "at": inventory_return.created_at,
        "return_id": inventory_return.pk,
        "status": inventory_return.status,
        "whole_list": inventory_return.whole_list,
        "items": [{"gnum": item.gnum, "qty": item.qty} for item in inventory_return.items.all()],
        "dutiable_value": inventory_return.dutiable_value,
        "quota_given_back": inventory_return.quota_given_back,
        "return_status": inventory_return.return_status,
        "return_info": inventory_return.return_info,
        "answered_at": inventory_return.answered_at,
    }


def arrival_for_operator(*, enterprise: Enterprise, arrival_id: int) -> ArrivalManifest | None:
    """An arrival manifest the enterprise filed (its operator), with its lines; None otherwise."""
    return ArrivalManifest.objects.filter(pk=arrival_id, operator=enterprise).prefetch_related("lines").first()


def _delivery_event(notice: WaybillDeliveryNotice) -> dict[str, Any]:
    """The waybill's delivery notice (CEB513) with its state now; the place is left out (it may
    be the consignee's address)."""
    return {
        "type": "delivery_notice",
        "at": notice.delivered_at,
        "notice_id": notice.pk,
        "status": notice.status,
        "delivered_at": notice.delivered_at,
        "return_status": notice.return_status,
        "return_info": notice.return_info,
        "answered_at": notice.answered_at,
    }


def _without(row: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != key}


@dataclass(frozen=True)
class ParcelTrace:
    """One parcel's documents as far as the enterprise may see them, and what happened to it.

    ``events`` are in time order, each a dict with its ``type`` and ``at`` (an aware datetime):
    ``document_received``, the list's ``status_change`` rows, ``rule_result`` rows, its tax
    bills' ``tax_bill`` (issued) and ``tax_bill_status`` (summarised, paid, void) rows, its
    return requests (``return``, at the time each was filed, with its state now), and the
    waybill's delivery notice to customs (``delivery_notice``, at the delivery, with its state now).
    """

    ebp_code: str
    order_no: str
    order: Order | None
    payment: Payment | None
    waybill: Waybill | None
    inventory: Inventory | None
    events: list[dict[str, Any]]
    # Customs' tax bills of the list (finance's), oldest first.
    tax_bills: list[finance.BillView] = dataclasses.field(default_factory=list)
    # The carriers' tracking of the waybill (logistics'), or None when no carrier reported on it.
    tracking: logistics.Timeline | None = None

    @property
    def tax_estimate(self) -> TaxEstimate | None:
        """The list's estimate, loaded with the list."""
        if self.inventory is None:
            return None
        try:
            return self.inventory.tax_estimate
        except TaxEstimate.DoesNotExist:
            return None


# Where the parcel is at these statuses is the consignee's door: the trace leaves the place out.
PRIVATE_PLACES = frozenset({"out_for_delivery", "delivered"})


def _tracking_event(event: logistics.TimelineEvent) -> dict[str, Any]:
    return {
        "type": "tracking",
        "at": event.occurred_at,
        "status": event.status,
        "place": "" if event.status in PRIVATE_PLACES else event.place,
        "transport_mode": event.transport_mode,
        "leg": event.leg,
    }


def parcel_trace(*, enterprise: Enterprise, ebp_code: str, order_no: str) -> ParcelTrace | None:
    """Everything about one parcel the enterprise may see, events in time order.

    A document shows to the enterprise that sent it and to the parties it names
    (``documents_visible_to``), and to the parties of a list matched to it: a list of the
    order's own e-commerce enterprise (the order's ``ebc_code`` is the list's, as matching
    requires: ``clearance.matching.parcel_documents``). Through that list its parties
    (platform, e-commerce enterprise, logistics, declaring agent, guarantor) see the order, its
    payment and the waybill the list names when that waybill carries the order's number,
    personal data masked in what they did not send. A list that names another enterprise's
    order shows that order to nobody: any enterprise may declare a list in its own name. None
    when the enterprise may see nothing of the parcel.
    """
    ebp_code = _stored_code(ebp_code)
    orders = Order.objects.filter(ebp_code=ebp_code, order_no=order_no)
    order_ebc = orders.exclude(status=DocumentStatus.DELETED).values_list("ebc_code", flat=True).first()
    lists = list(
        documents_visible_to(kind=INVENTORY, enterprise=enterprise)
        .filter(ebp_code=ebp_code, order_no=order_no)
        .order_by("-created_at", "-id")
    )
    # The list of the order's own e-commerce enterprise when the enterprise sees it; else its latest.
    inventory = next((i for i in lists if i.ebc_code == order_ebc), lists[0] if lists else None)
    matched = inventory is not None and orders.filter(ebc_code=inventory.ebc_code).exists()

    def scope(kind: DocumentType) -> QuerySet[Any]:
        if not matched:
            return documents_visible_to(kind=kind, enterprise=enterprise)
        return _with_answer_relations(kind, kind.model._default_manager.all())

    order_scope = scope(ORDER).filter(ebp_code=ebp_code, order_no=order_no)
    if matched:
        order_scope = order_scope.filter(ebc_code=inventory.ebc_code)  # type: ignore[union-attr]
    order = order_scope.order_by("-created_at", "-id").first()
    payment = scope(PAYMENT).filter(ebp_code=ebp_code, order_no=order_no).order_by("-created_at", "-id").first()
    waybill = None
    if inventory is not None:
        waybills = scope(WAYBILL).filter(logistics_code=inventory.logistics_code, logistics_no=inventory.logistics_no)
        if matched:
            waybills = waybills.filter(order_no=order_no)
        waybill = waybills.order_by("-generation", "-id").first()
    if order is None and inventory is None and payment is None:
        return None

    documents = {ORDER: order, PAYMENT: payment, WAYBILL: waybill, INVENTORY: inventory}
    events: list[dict[str, Any]] = [
        {"at": document.created_at, "type": "document_received", "document": f"{kind.name}:{document.pk}"}
        for kind, document in documents.items()
        if document is not None
    ]
    tax_bills: list[finance.BillView] = []
    if inventory is not None:
        changes = InventoryStatusChange.objects.filter(inventory=inventory).values(
            "created_at", "from_status", "to_status", "source", "receipt_code", "applied", "note"
        )
        events += [{"type": "status_change", "at": c["created_at"], **_without(c, "created_at")} for c in changes]
        results = RuleResult.objects.filter(inventory=inventory).values(
            "created_at",
            "run",
            "rule",
            "outcome",
            "field",
            "list_value",
            "other_value",
            "documents",
            "customs_code",
            "note",
        )
        events += [{"type": "rule_result", "at": r["created_at"], **_without(r, "created_at")} for r in results]
        tax_bills = finance.tax_bills_of_list(inventory_id=inventory.pk)
        for bill in tax_bills:
            events += [
                {
                    "type": "tax_bill" if change.status == "1" else "tax_bill_status",
                    "at": change.at,
                    "tax_no": bill.tax_no,
                    "status": change.status,
                    "ent_duty_no": change.ent_duty_no,
                    "tax_total": bill.tax_total,
                    "differs_from_estimate": bill.differs,
                }
                for change in bill.changes
            ]
        events += [_return_event(r) for r in inventory_returns(inventory=inventory)]
    tracking = None
    if waybill is not None:
        events += [_delivery_event(n) for n in WaybillDeliveryNotice.objects.filter(waybill=waybill)]
        tracking = logistics.timeline_of(waybill.logistics_code, waybill.logistics_no)
        if tracking is not None:
            events += [_tracking_event(event) for event in tracking.events]
    events.sort(key=lambda event: event["at"])  # stable: same-instant events keep their order
    return ParcelTrace(
        ebp_code=ebp_code,
        order_no=order_no,
        order=order,
        payment=payment,
        waybill=waybill,
        inventory=inventory,
        events=events,
        tax_bills=tax_bills,
        tracking=tracking,
    )


def payment_facts_of(*, pay_code: str, start: datetime.datetime, end: datetime.datetime) -> list[PaymentFacts]:
    """The hub's payment lookup (``single_window.lookups``), registered in ``DeclarationsConfig.ready``.

    The declared payments of ``pay_code`` (its stored code) paid from ``start`` to before
    ``end``, with the e-commerce enterprise of the live order each pays, in one query. A payment
    is one row per business key, changed in place, so its row is its latest version; a draft
    (app_status 1) has not been declared and a deleted one no longer stands: neither is here.
    The scan is on the business key's ``pay_code`` prefix.
    """
    order_ebc = Order.objects.filter(ebp_code=OuterRef("ebp_code"), order_no=OuterRef("order_no")).exclude(
        status=DocumentStatus.DELETED
    )
    rows = (
        Payment.objects.filter(pay_code=pay_code, status=DocumentStatus.DECLARED, pay_time__gte=start, pay_time__lt=end)
        .annotate(order_ebc_code=Subquery(order_ebc.values("ebc_code")[:1]))
        .order_by("pay_time", "id")
        .values_list(
            "pay_code",
            "pay_transaction_id",
            "order_no",
            "ebp_code",
            "order_ebc_code",
            "amount_paid",
            "currency",
            "pay_time",
            "status",
        )
    )
    return [
        PaymentFacts(
            pay_code=row[0],
            pay_transaction_id=row[1],
            order_no=row[2],
            ebp_code=row[3],
            ebc_code=row[4] or "",
            amount_paid=row[5],
            currency=row[6],
            pay_time=row[7],
            status=row[8],
        )
        for row in rows
    ]


# --- Figures (read by the statistical monitoring) ----------------------------------------------
#
# The monitoring keeps daily rollups by the list's dimensions; these reads give it one list's
# dimensions when an event about it arrives, and aggregated figures of many lists (one SQL
# statement, grouped by day and dimension values) when it reconciles or rebuilds.

QUOTA_RULES = (match_rules.QUOTA_SINGLE, match_rules.QUOTA_ANNUAL)
# Rule results the declare step writes (one per system, ``declare:<system>``) and its timeout:
# not matching rules.
DECLARE_RULE_PREFIX = "declare:"

_RULE_LABELS = {
    match_rules.DOCUMENTS_LINKED: _("the list, order, payment and waybill are linked"),
    match_rules.PAYMENT_AMOUNT: _("the payment equals the order's amount"),
    match_rules.ORDER_SUMS: _("the order's sums add up"),
    match_rules.PAYER_IS_BUYER: _("the payer is the buyer"),
    match_rules.CONSIGNEE_MATCHES: _("the waybill's consignee matches the order"),
    match_rules.ITEMS_MATCH: _("the list's items match the order"),
    match_rules.ITEMS_SEQUENCE: _("items numbered in sequence"),
    match_rules.FREIGHT_MATCHES: _("the list's freight matches the waybill"),
    match_rules.ONE_PACKAGE: _("one package"),
    match_rules.CUSTOMS_ACCEPTED: _("documents not refused by customs"),
    match_rules.BUYER_MATCHES: _("the list's buyer matches the order"),
    match_rules.ID_TYPES: _("buyer and payer hold resident identity cards"),
    match_rules.QUOTA_SINGLE: _("single-transaction limit"),
    match_rules.QUOTA_ANNUAL: _("annual limit"),
    match_rules.POSITIVE_LIST: _("goods on the positive list"),
    match_rules.AGENT_APPOINTED: _("the agent is appointed"),
    match_rules.AGENT_NOT_AUTHORISED: _("declarant not authorised by the e-commerce enterprise"),
}


def rule_label(*, rule: str) -> str:
    """The label of a matching rule's code; any other code (a risk rule's) is its own label."""
    label = _RULE_LABELS.get(rule)
    return str(label) if label is not None else rule


def country_names(*, codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Code -> (Chinese name, English name) from the customs country table."""
    rows = CountryCode.objects.filter(code__in=list(codes)).values_list("code", "name_zh", "name_en")
    return {code: (zh, en) for code, zh, en in rows}


@dataclass(frozen=True)
class FigureGroup:
    """The items of one list from one origin country in one HS chapter, and their estimate."""

    country: str
    hs_chapter: str
    value: Decimal
    duty: Decimal
    vat: Decimal
    consumption_tax: Decimal


@dataclass(frozen=True)
class ListFigureFacts:
    """One list's dimensions and estimated figures, as the monitoring's rollups count it."""

    # The list's id: an ``Inventory``'s, or an ``ExportList``'s when ``flow`` is export.
    inventory_id: int
    flow: str
    trade_mode: str
    district: str
    port: str
    park: str
    city: str
    ebc: str
    agent: str
    # The list's parties hear of each change in their own feeds, in enterprise-id order
    # (``declarations.events``): the first of them is the copy that counts once.
    first_party_id: int
    value: Decimal
    duty: Decimal
    vat: Decimal
    consumption_tax: Decimal
    groups: tuple[FigureGroup, ...]


ZERO = Decimal("0.00")


def _park_of(code: str) -> tuple[str, str]:
    """(park code, city) of the enterprise a document names by ``code``; empty when none."""
    enterprise = registry.enterprise_get_by_code(code=code) if code else None
    if enterprise is None or enterprise.park_id is None:
        return "", ""
    park = Park.objects.filter(pk=enterprise.park_id).values_list("code", "city").first()
    return (park[0], park[1]) if park else ("", "")


def list_figure_facts(*, inventory_id: int, first_party_id: int | None = None) -> ListFigureFacts | None:
    """The list's dimensions (its park: the area enterprise's, else the declaring agent's, as
    the regulators' scope has it), its estimate, and its items grouped by country and chapter.

    ``first_party_id``: only if this enterprise is the list's first party (the lower id of its
    sender and its e-commerce enterprise; else None, read no further)."""
    inventory = Inventory.objects.filter(pk=inventory_id).select_related("tax_estimate").first()
    if inventory is None:
        return None
    ebc = registry.enterprise_get_by_code(code=inventory.ebc_code) if inventory.ebc_code else None
    first_party = min(inventory.sender_id, ebc.pk) if ebc is not None else inventory.sender_id
    if first_party_id is not None and first_party != first_party_id:
        return None
    park, city = _park_of(inventory.area_code or inventory.agent_code)
    try:
        estimate: TaxEstimate | None = inventory.tax_estimate
    except TaxEstimate.DoesNotExist:
        estimate = None
    by_gnum = {}
    if estimate is not None:
        by_gnum = {item.gnum: item for item in TaxEstimateItem.objects.filter(estimate=estimate)}
    groups: dict[tuple[str, str], list[Decimal]] = {}
    for gnum, gcode, country in InventoryItem.objects.filter(inventory=inventory).values_list(
        "gnum", "gcode", "country"
    ):
        sums = groups.setdefault((country, gcode[:2]), [ZERO, ZERO, ZERO, ZERO])
        item = by_gnum.get(gnum)
        if item is not None:
            for index, amount in enumerate(
                (item.dutiable_value, item.customs_tax, item.value_added_tax, item.consumption_tax)
            ):
                sums[index] += amount
    return ListFigureFacts(
        inventory_id=inventory.pk,
        flow="export" if inventory.ie_flag == "E" else "import",
        trade_mode=inventory.trade_mode,
        district=inventory.customs_code,
        port=inventory.port_code,
        park=park,
        city=city,
        ebc=inventory.ebc_code,
        agent=inventory.agent_code,
        first_party_id=first_party,
        value=estimate.dutiable_total if estimate else ZERO,
        duty=estimate.customs_tax if estimate else ZERO,
        vat=estimate.value_added_tax if estimate else ZERO,
        consumption_tax=estimate.consumption_tax if estimate else ZERO,
        groups=tuple(FigureGroup(country, chapter, *sums) for (country, chapter), sums in sorted(groups.items())),
    )


def _moves() -> QuerySet[InventoryStatusChange]:
    """The history rows that moved a list (each one published as ``inventory.status_changed``)."""
    return InventoryStatusChange.objects.filter(applied=True).exclude(from_status=F("to_status"))


def list_move_times(
    *, inventory_id: int, from_status: str, to_status: str
) -> tuple[datetime.datetime, datetime.datetime | None] | None:
    """When the list last made this move, and (for any move) when it was last declared before
    it; None when the history has no such move."""
    move = (
        _moves()
        .filter(inventory_id=inventory_id, from_status=from_status, to_status=to_status)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    if move is None:
        return None
    declared = (
        _moves()
        .filter(inventory_id=inventory_id, to_status=InventoryStatus.DECLARED, created_at__lte=move)
        .aggregate(at=Max("created_at"))["at"]
    )
    return move, declared


def _table(model: Any) -> str:
    return str(model._meta.db_table)


def _checked(names: Iterable[str]) -> list[str]:
    """Column names the caller gives: identifiers only, never input."""
    names = list(names)
    for name in names:
        if not name.isidentifier():
            msg = f"{name!r} is not a column name"
            raise ValueError(msg)
    return names


_PARKS_SQL = """
    parks AS (
        SELECT e.customs_code AS code, p.code AS park, p.city FROM {enterprise} e
            JOIN {park} p ON p.id = e.park_id WHERE e.customs_code IS NOT NULL
        UNION ALL
        SELECT e.uscc, p.code, p.city FROM {enterprise} e
            JOIN {park} p ON p.id = e.park_id WHERE e.uscc IS NOT NULL
    )"""


def list_figures_between(
    *,
    start: datetime.datetime,
    end: datetime.datetime,
    counted_moves: Mapping[str, str],
    quota_column: str,
    histogram_edges: Sequence[int],
    histogram_columns: Sequence[str],
    goods: bool,
    time_zone: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    """Figures of the lists' moves in ``[start, end)``, aggregated by day (in ``time_zone``) and
    dimension values, in one statement (PostgreSQL).

    ``counted_moves``: list status -> the column counting moves into it; ``quota_column``
    counts matching runs refused by a quota rule. A move into ``released`` adds the list's
    estimate (``value_cny``, ``duty``, ``vat``, ``consumption_tax``) and its clearance time
    (from its latest declaration before the release) to ``clearance_count``,
    ``clearance_seconds`` and the histogram column of ``width_bucket(seconds, histogram_edges)``.
    With ``goods``, a list counts once per (country, HS chapter) group of its items, with
    those items' estimate, and the rows carry ``country`` and ``hs_chapter``.
    """
    statuses = list(counted_moves)
    columns = _checked([*counted_moves.values(), quota_column, *histogram_columns])
    counts = ",\n".join(
        f"count(*) FILTER (WHERE m.what = %(s{index})s) AS {column}"
        for index, column in enumerate(columns[: len(statuses)])
    )
    status_params = {f"s{index}": status for index, status in enumerate(statuses)}
    edges = ",".join(str(int(edge)) for edge in histogram_edges)
    histogram = ",\n".join(
        f"count(*) FILTER (WHERE m.what = 'released' AND m.bucket = {index}) AS {column}"
        for index, column in enumerate(histogram_columns)
    )
    amounts = (
        "g.value, g.duty, g.vat, g.ct"
        if goods
        else ("t.dutiable_total, t.customs_tax, t.value_added_tax, t.consumption_tax")
    )
    value, duty, vat, ct = (a.strip() for a in amounts.split(","))
    tables = {
        "change": _table(InventoryStatusChange),
        "result": _table(RuleResult),
        "inventory": _table(Inventory),
        "estimate": _table(TaxEstimate),
        "estimate_item": _table(TaxEstimateItem),
        "item": _table(InventoryItem),
        "enterprise": _table(Enterprise),
        "park": _table(Park),
    }
    goods_cte = (
        """,
    groups AS (
        SELECT ii.inventory_id, ii.country, left(ii.gcode, 2) AS hs_chapter,
               COALESCE(sum(ei.dutiable_value), 0) AS value, COALESCE(sum(ei.customs_tax), 0) AS duty,
               COALESCE(sum(ei.value_added_tax), 0) AS vat, COALESCE(sum(ei.consumption_tax), 0) AS ct
        FROM {item} ii
        LEFT JOIN {estimate} te ON te.inventory_id = ii.inventory_id
        LEFT JOIN {estimate_item} ei ON ei.estimate_id = te.id AND ei.gnum = ii.gnum
        WHERE ii.inventory_id IN (SELECT inventory_id FROM moves)
        GROUP BY 1, 2, 3
    )"""
        if goods
        else ""
    )
    goods_columns = ", g.country, g.hs_chapter" if goods else ""
    goods_join = (
        "JOIN groups g ON g.inventory_id = m.inventory_id"
        if goods
        else "LEFT JOIN {estimate} t ON t.inventory_id = i.id"
    )
    group_by = ", ".join(str(n) for n in range(1, 10 + (2 if goods else 0)))
    # Only column names from code and placeholders go into the text; values are parameters.
    sql = f"""
    WITH {_PARKS_SQL},
    moves AS (
        SELECT c.inventory_id, c.to_status AS what, c.created_at AS at,
            CASE WHEN c.to_status = 'released' THEN (
                SELECT max(d.created_at) FROM {{change}} d
                WHERE d.inventory_id = c.inventory_id AND d.to_status = 'declared'
                  AND d.from_status <> d.to_status AND d.applied AND d.created_at <= c.created_at
            ) END AS declared_at
        FROM {{change}} c
        WHERE c.created_at >= %(start)s AND c.created_at < %(end)s AND c.applied
          AND c.from_status <> c.to_status AND c.to_status = ANY(%(statuses)s)
        UNION ALL
        SELECT r.inventory_id, 'quota_refused', min(r.created_at), NULL FROM {{result}} r
        WHERE r.created_at >= %(start)s AND r.created_at < %(end)s AND r.outcome = 'failed'
          AND r.rule = ANY(%(quota_rules)s)
        GROUP BY r.inventory_id, r.run
    ){goods_cte},
    timed AS (
        SELECT m.*, (m.at AT TIME ZONE %(tz)s)::date AS day,
            floor(extract(epoch FROM m.at - m.declared_at))::bigint AS seconds,
            width_bucket(GREATEST(floor(extract(epoch FROM m.at - m.declared_at))::bigint, 0),
                         ARRAY[{edges}]::bigint[]) AS bucket
        FROM moves m
    )
    SELECT m.day, CASE WHEN i.ie_flag = 'E' THEN 'export' ELSE 'import' END AS flow, i.trade_mode,
        i.customs_code AS district, i.port_code AS port, COALESCE(pk.park, '') AS park,
        COALESCE(pk.city, '') AS city, i.ebc_code AS ebc, i.agent_code AS agent{goods_columns},
        {counts},
        count(*) FILTER (WHERE m.what = 'quota_refused') AS {quota_column},
        count(*) FILTER (WHERE m.what = 'released' AND m.seconds IS NOT NULL) AS clearance_count,
        COALESCE(sum(m.seconds) FILTER (WHERE m.what = 'released'), 0) AS clearance_seconds,
        COALESCE(sum({value}) FILTER (WHERE m.what = 'released'), 0) AS value_cny,
        COALESCE(sum({duty}) FILTER (WHERE m.what = 'released'), 0) AS duty,
        COALESCE(sum({vat}) FILTER (WHERE m.what = 'released'), 0) AS vat,
        COALESCE(sum({ct}) FILTER (WHERE m.what = 'released'), 0) AS consumption_tax,
        {histogram}
    FROM timed m
    JOIN {{inventory}} i ON i.id = m.inventory_id
    {goods_join}
    LEFT JOIN parks pk ON pk.code = CASE WHEN i.area_code <> '' THEN i.area_code ELSE i.agent_code END
    GROUP BY {group_by}
    """  # noqa: S608
    sql = sql.format(**tables)
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "statuses": statuses,
        "quota_rules": list(QUOTA_RULES),
        "tz": time_zone,
        **status_params,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def rule_failures_between(
    *, start: datetime.datetime, end: datetime.datetime, time_zone: str = "Asia/Shanghai"
) -> list[dict[str, Any]]:
    """Rule failures in ``[start, end)`` by day, kind, rule and the list's scope dimensions:
    each matching run counts once per rule it failed (``matching``), and each judgement of the
    declare step that sent a list to review or blocked it counts once per reason code of the
    systems with that verdict (``risk``), as ``inventory.risk_review`` and
    ``inventory.risk_blocked`` name them."""
    tables = {
        "result": _table(RuleResult),
        "inventory": _table(Inventory),
        "enterprise": _table(Enterprise),
        "park": _table(Park),
    }
    # Table names from the models; values are parameters.
    sql = f"""
    WITH {_PARKS_SQL},
    judged AS (
        SELECT r.inventory_id, r.run, r.created_at, split_part(r.note, ' ', 1) AS verdict,
            unnest((string_to_array(r.note, ' '))[2:]) AS code
        FROM {{result}} r
        WHERE r.created_at >= %(start)s AND r.created_at < %(end)s AND r.outcome = 'failed'
          AND r.rule LIKE %(declare)s
    ),
    runs AS (SELECT inventory_id, run, bool_or(verdict = 'block') AS blocked FROM judged GROUP BY 1, 2),
    failures AS (
        SELECT r.inventory_id, 'matching' AS kind, r.rule, min(r.created_at) AS at FROM {{result}} r
        WHERE r.created_at >= %(start)s AND r.created_at < %(end)s AND r.outcome = 'failed'
          AND r.rule NOT LIKE %(declare)s AND r.rule <> %(timeout)s
        GROUP BY r.inventory_id, r.run, r.rule
        UNION ALL
        SELECT j.inventory_id, 'risk', j.code, min(j.created_at) FROM judged j
        JOIN runs USING (inventory_id, run)
        WHERE j.code <> '' AND j.verdict = CASE WHEN runs.blocked THEN 'block' ELSE 'review' END
        GROUP BY j.inventory_id, j.run, j.code
    )
    SELECT (f.at AT TIME ZONE %(tz)s)::date AS day,
        CASE WHEN i.ie_flag = 'E' THEN 'export' ELSE 'import' END AS flow, f.kind, f.rule,
        i.customs_code AS district, i.port_code AS port, COALESCE(pk.park, '') AS park,
        i.ebc_code AS ebc, i.agent_code AS agent, count(*) AS failures
    FROM failures f
    JOIN {{inventory}} i ON i.id = f.inventory_id
    LEFT JOIN parks pk ON pk.code = CASE WHEN i.area_code <> '' THEN i.area_code ELSE i.agent_code END
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    """.format(**tables)  # noqa: S608
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "tz": time_zone,
        "declare": DECLARE_RULE_PREFIX + "%",
        "timeout": DECLARE_TIMEOUT,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def list_park_of(*, code: str) -> tuple[str, str]:
    """(park code, city) of the enterprise named by ``code``; empty strings when none."""
    return _park_of(code)


# --- Export figures (read by the statistical monitoring, flow ``export``) ----------------------
#
# An export list counts like an import list, with its own history (``ExportListStatusChange``)
# and parties. Its value is the sum of its items' total prices, each converted to CNY at the
# stored daily rate (``finance.rates.rate_on``: the rate of the release day, else the latest
# earlier one within ``FINANCE_RATE_MAX_AGE_DAYS``) and rounded half-up to the fen; an item
# whose currency has no such rate adds nothing to the value. Its goods groups are by the items'
# destination country (the ``country`` column) and HS chapter. Export lists carry no tax.

FEN = Decimal("0.01")


def _export_item_cny(total_price: Decimal, currency: str, on: datetime.date) -> Decimal:
    if currency == CNY:
        rate: Decimal | None = Decimal(1)
    else:
        found = finance_rates.rate_on(currency=currency, on=on)
        rate = found.rate if found is not None else None
    if rate is None:
        return ZERO
    return (total_price * rate).quantize(FEN, rounding=ROUND_HALF_UP)


def export_list_figure_facts(*, export_list_id: int, on: datetime.date) -> ListFigureFacts | None:
    """The export list's dimensions (its park: the zone warehouse enterprise's for a 1210 list,
    else the declaring agent's), and its items' value in CNY at the rate of ``on`` grouped by
    destination country and chapter."""
    export_list = ExportList.objects.filter(pk=export_list_id).first()
    if export_list is None:
        return None
    park, city = _park_of(export_list.iac_code or export_list.agent_code)
    ebc = registry.enterprise_get_by_code(code=export_list.ebc_code) if export_list.ebc_code else None
    first_party = min(export_list.sender_id, ebc.pk) if ebc is not None else export_list.sender_id
    groups: dict[tuple[str, str], Decimal] = {}
    for gcode, country, currency, total_price in ExportListItem.objects.filter(export_list=export_list).values_list(
        "gcode", "country", "currency", "total_price"
    ):
        key = (country, gcode[:2])
        groups[key] = groups.get(key, ZERO) + _export_item_cny(total_price, currency, on)
    return ListFigureFacts(
        inventory_id=export_list.pk,
        flow="export",
        trade_mode=export_list.trade_mode,
        district=export_list.customs_code,
        port=export_list.port_code,
        park=park,
        city=city,
        ebc=export_list.ebc_code,
        agent=export_list.agent_code,
        first_party_id=first_party,
        value=sum(groups.values(), ZERO),
        duty=ZERO,
        vat=ZERO,
        consumption_tax=ZERO,
        groups=tuple(
            FigureGroup(country, chapter, value, ZERO, ZERO, ZERO)
            for (country, chapter), value in sorted(groups.items())
        ),
    )


def _export_moves() -> QuerySet[ExportListStatusChange]:
    """The history rows that moved an export list (each one published as
    ``export_list.status_changed``)."""
    return ExportListStatusChange.objects.filter(applied=True).exclude(from_status=F("to_status"))


def export_list_move_times(
    *, export_list_id: int, from_status: str, to_status: str
) -> tuple[datetime.datetime, datetime.datetime | None] | None:
    """``list_move_times`` for an export list."""
    move = (
        _export_moves()
        .filter(export_list_id=export_list_id, from_status=from_status, to_status=to_status)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    if move is None:
        return None
    declared = (
        _export_moves()
        .filter(export_list_id=export_list_id, to_status=ExportListStatus.DECLARED, created_at__lte=move)
        .aggregate(at=Max("created_at"))["at"]
    )
    return move, declared


def export_list_figures_between(
    *,
    start: datetime.datetime,
    end: datetime.datetime,
    counted_moves: Mapping[str, str],
    histogram_edges: Sequence[int],
    histogram_columns: Sequence[str],
    goods: bool,
    time_zone: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    """``list_figures_between`` for the export lists, in one statement (PostgreSQL): rows with
    ``flow`` export, the value of each release converted as ``export_list_figure_facts``
    converts it, no taxes, and (with ``goods``) ``country`` the items' destination country."""
    statuses = list(counted_moves)
    columns = _checked([*counted_moves.values(), *histogram_columns])
    counts = ",\n".join(
        f"count(*) FILTER (WHERE m.what = %(s{index})s) AS {column}"
        for index, column in enumerate(columns[: len(statuses)])
    )
    status_params = {f"s{index}": status for index, status in enumerate(statuses)}
    edges = ",".join(str(int(edge)) for edge in histogram_edges)
    histogram = ",\n".join(
        f"count(*) FILTER (WHERE m.what = 'released' AND m.bucket = {index}) AS {column}"
        for index, column in enumerate(histogram_columns)
    )
    tables = {
        "change": _table(ExportListStatusChange),
        "list": _table(ExportList),
        "item": _table(ExportListItem),
        "rate": _table(ExchangeRate),
        "enterprise": _table(Enterprise),
        "park": _table(Park),
    }
    groups_cte = (
        """,
    groups AS (
        SELECT DISTINCT ii.export_list_id AS list_id, ii.country, left(ii.gcode, 2) AS hs_chapter
        FROM {item} ii WHERE ii.export_list_id IN (SELECT list_id FROM moves)
    )"""
        if goods
        else ""
    )
    if goods:
        value_key, value_group = "v.move_id, v.country, v.hs_chapter", "1, 2, 3"
        value_join = (
            "JOIN groups g ON g.list_id = m.list_id\n    LEFT JOIN valued v ON v.move_id = m.move_id"
            " AND v.country = g.country AND v.hs_chapter = g.hs_chapter"
        )
        goods_columns = ", g.country, g.hs_chapter"
    else:
        value_key, value_group = "v.move_id", "1"
        value_join = "LEFT JOIN valued v ON v.move_id = m.move_id"
        goods_columns = ""
    group_by = ", ".join(str(n) for n in range(1, 10 + (2 if goods else 0)))
    # Only column names from code and placeholders go into the text; values are parameters.
    sql = f"""
    WITH {_PARKS_SQL},
    moves AS (
        SELECT c.id AS move_id, c.export_list_id AS list_id, c.to_status AS what, c.created_at AS at,
            CASE WHEN c.to_status = 'released' THEN (
                SELECT max(d.created_at) FROM {{change}} d
                WHERE d.export_list_id = c.export_list_id AND d.to_status = 'declared'
                  AND d.from_status <> d.to_status AND d.applied AND d.created_at <= c.created_at
            ) END AS declared_at
        FROM {{change}} c
        WHERE c.created_at >= %(start)s AND c.created_at < %(end)s AND c.applied
          AND c.from_status <> c.to_status AND c.to_status = ANY(%(statuses)s)
    ){groups_cte},
    timed AS (
        SELECT m.*, (m.at AT TIME ZONE %(tz)s)::date AS day,
            floor(extract(epoch FROM m.at - m.declared_at))::bigint AS seconds,
            width_bucket(GREATEST(floor(extract(epoch FROM m.at - m.declared_at))::bigint, 0),
                         ARRAY[{edges}]::bigint[]) AS bucket
        FROM moves m
    ),
    valued AS (
        SELECT {value_key}, sum(v.value) AS value FROM (
            SELECT m.move_id, ii.country, left(ii.gcode, 2) AS hs_chapter,
                round(ii.total_price * CASE WHEN ii.currency = %(cny)s THEN 1 ELSE (
                    SELECT x.rate FROM {{rate}} x
                    WHERE x.currency = ii.currency AND x.rate_date <= m.day
                      AND x.rate_date >= m.day - %(max_age)s::integer
                    ORDER BY x.rate_date DESC LIMIT 1
                ) END, 2) AS value
            FROM timed m JOIN {{item}} ii ON ii.export_list_id = m.list_id
            WHERE m.what = 'released'
        ) v
        GROUP BY {value_group}
    )
    SELECT m.day, 'export' AS flow, l.trade_mode, l.customs_code AS district, l.port_code AS port,
        COALESCE(pk.park, '') AS park, COALESCE(pk.city, '') AS city, l.ebc_code AS ebc,
        l.agent_code AS agent{goods_columns},
        {counts},
        count(*) FILTER (WHERE m.what = 'released' AND m.seconds IS NOT NULL) AS clearance_count,
        COALESCE(sum(m.seconds) FILTER (WHERE m.what = 'released'), 0) AS clearance_seconds,
        COALESCE(sum(v.value) FILTER (WHERE m.what = 'released'), 0) AS value_cny,
        0 AS duty, 0 AS vat, 0 AS consumption_tax,
        {histogram}
    FROM timed m
    JOIN {{list}} l ON l.id = m.list_id
    {value_join}
    LEFT JOIN parks pk ON pk.code = CASE WHEN l.iac_code <> '' THEN l.iac_code ELSE l.agent_code END
    GROUP BY {group_by}
    """  # noqa: S608
    sql = sql.format(**tables)
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "statuses": statuses,
        "tz": time_zone,
        "cny": CNY,
        "max_age": settings.FINANCE_RATE_MAX_AGE_DAYS,
        **status_params,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
