"""Keeping the rollups current from the events the hub carries (``single_window.subscriptions``).

The subscriber ``monitoring`` hears the declarations' events about lists:

- ``inventory.status_changed``: a move into a counted state (``COUNTED_MOVES``) adds one to
  its column on the day of the move; a release also adds the list's estimated value and taxes
  and its clearance time (latest declaration to release) to the histogram;
- ``inventory.matching_result`` not passed: one failure per rule failed (``DailyRuleFailures``,
  kind ``matching``), and one ``quota_refused`` when a quota rule is among them;
- ``inventory.risk_review`` / ``inventory.risk_blocked``: one hit per reason code (kind ``risk``);
- ``export_list.status_changed``: the same as an import list's move, in the rows of flow
  ``export`` (``EXPORT_COUNTED_MOVES``); a release adds the items' value converted to CNY at the
  stored rate of the release day (``declarations.selectors.export_list_figure_facts``) and the
  clearance time, and no taxes. Goods rows are by the items' destination country.

A change reaches each of the list's parties in their own feed; the copy addressed to the first
of them (``ListFigureFacts.first_party_id``, the order the declarations publish in) is the one
that counts. Every update is an upsert (``INSERT ... ON CONFLICT DO UPDATE SET n = n + x``), and
``EventWatermark`` makes it idempotent by event id: an event at or below the mark changes nothing.
The day of a move is the day (China time) of its history row, as the reconciliation counts it.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from core.times import CHINA_TZ
from declarations import selectors as declarations
from monitoring import buckets
from monitoring.models import (
    LIST_DIMENSIONS,
    DailyGoodsFigures,
    DailyListFigures,
    DailyRuleFailures,
    EventWatermark,
    RuleKind,
)
from single_window.models import Event
from single_window.subscriptions import register_subscriber

SUBSCRIBER = "monitoring"
STATUS_CHANGED = "inventory.status_changed"
MATCHING_RESULT = "inventory.matching_result"
RISK_REVIEW = "inventory.risk_review"
RISK_BLOCKED = "inventory.risk_blocked"
EXPORT_STATUS_CHANGED = "export_list.status_changed"
EVENT_TYPES = (STATUS_CHANGED, MATCHING_RESULT, RISK_REVIEW, RISK_BLOCKED, EXPORT_STATUS_CHANGED)
WATERMARK = "events"

# The list's new state -> the column counting moves into it.
COUNTED_MOVES: Mapping[str, str] = {
    "declared": "declared",
    "released": "released",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "returned": "returned",
    "risk_review": "risk_reviews",
    "manual_review": "customs_reviews",
    "inspection": "inspections",
}
# An export list's moves that count (it has no risk review of the single window, and its
# returns are documents of their own, not a state of the list).
EXPORT_COUNTED_MOVES: Mapping[str, str] = {
    "declared": "declared",
    "released": "released",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "manual_review": "customs_reviews",
    "inspection": "inspections",
}
RELEASED = "released"


def china_day(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(CHINA_TZ).date()


# --- Upserts ------------------------------------------------------------------------------------


def upsert_add(model: type[Model], key: Mapping[str, Any], deltas: Mapping[str, Any]) -> None:
    """Add ``deltas`` to the row of ``key`` (the model's unique key), creating it if missing:
    ``INSERT ... ON CONFLICT (key) DO UPDATE SET n = n + EXCLUDED.n``."""
    table = connection.ops.quote_name(model._meta.db_table)
    # Django's defaults live in Python, not in the table: the insert names every column.
    others = [f.column for f in model._meta.concrete_fields if f.column and not f.primary_key and f.column not in key]
    columns = [*key, *others]
    values = [*key.values(), *(deltas.get(column, 0) for column in others)]
    quoted = [connection.ops.quote_name(column) for column in columns]
    conflict = ", ".join(connection.ops.quote_name(column) for column in key)
    updates = ", ".join(
        f"{q} = {table}.{q} + EXCLUDED.{q}" for q in (connection.ops.quote_name(column) for column in deltas)
    )
    placeholders = ", ".join(["%s"] * len(columns))
    sql = (
        f"INSERT INTO {table} ({', '.join(quoted)}) VALUES ({placeholders}) "  # noqa: S608 - names from code
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def _list_key(facts: declarations.ListFigureFacts, day: datetime.date) -> dict[str, Any]:
    return {"day": day, **{dimension: getattr(facts, dimension) for dimension in LIST_DIMENSIONS}}


def add_list_figures(
    facts: declarations.ListFigureFacts, day: datetime.date, counts: Mapping[str, int], *, with_amounts: bool
) -> None:
    """Add ``counts`` (and, for a release, the list's amounts) to its list row and to each of
    its goods groups' rows."""
    key = _list_key(facts, day)
    amounts = (
        {"value_cny": facts.value, "duty": facts.duty, "vat": facts.vat, "consumption_tax": facts.consumption_tax}
        if with_amounts
        else {}
    )
    upsert_add(DailyListFigures, key, {**counts, **amounts})
    for group in facts.groups:
        group_amounts = (
            {"value_cny": group.value, "duty": group.duty, "vat": group.vat, "consumption_tax": group.consumption_tax}
            if with_amounts
            else {}
        )
        goods_key = {**key, "country": group.country, "hs_chapter": group.hs_chapter}
        # The monthly and region rollups follow by trigger (``monitoring.aggregates``).
        upsert_add(DailyGoodsFigures, goods_key, {**counts, **group_amounts})


def add_rule_failures(facts: declarations.ListFigureFacts, day: datetime.date, kind: str, rules: Sequence[str]) -> None:
    for rule in sorted(set(rules)):
        if not rule:
            continue
        key = {
            "day": day,
            "flow": facts.flow,
            "kind": kind,
            "rule": rule[:60],
            "district": facts.district,
            "port": facts.port,
            "park": facts.park,
            "ebc": facts.ebc,
            "agent": facts.agent,
        }
        upsert_add(DailyRuleFailures, key, {"failures": 1})


# --- The subscriber ----------------------------------------------------------------------------


def _first_time(event_id: int) -> bool:
    """Move the watermark past ``event_id``; False when it was there already (seen before)."""
    moved = EventWatermark.objects.filter(name=WATERMARK, last_event_id__lt=event_id).update(last_event_id=event_id)
    if moved == 0:
        # The first event ever, or one seen before: the row tells which.
        _row, created = EventWatermark.objects.get_or_create(name=WATERMARK)
        if created:
            moved = EventWatermark.objects.filter(name=WATERMARK).update(last_event_id=event_id)
    return moved == 1


def counts(event: Event) -> bool:
    """Whether the event can move a figure; the others are passed over before anything is
    read (most of a list's moves, and passed matching, count nothing)."""
    payload = event.payload
    if event.type == STATUS_CHANGED:
        return str(payload.get("to_status", "")) in COUNTED_MOVES
    if event.type == EXPORT_STATUS_CHANGED:
        return str(payload.get("to_status", "")) in EXPORT_COUNTED_MOVES
    if event.type == MATCHING_RESULT:
        return payload.get("passed") is False
    return True


def _count_move(
    facts: declarations.ListFigureFacts,
    column: str,
    to_status: str,
    moved_at: datetime.datetime,
    declared_at: datetime.datetime | None,
) -> None:
    counts: dict[str, int] = {column: 1}
    released = to_status == RELEASED
    if released and declared_at is not None:
        seconds = math.floor((moved_at - declared_at).total_seconds())
        counts["clearance_count"] = 1
        counts["clearance_seconds"] = seconds
        counts[buckets.COLUMNS[buckets.bucket_of(seconds)]] = 1
    add_list_figures(facts, china_day(moved_at), counts, with_amounts=released)


def _status_changed(event: Event, facts: declarations.ListFigureFacts) -> None:
    payload = event.payload
    to_status, from_status = str(payload.get("to_status", "")), str(payload.get("from_status", ""))
    column = COUNTED_MOVES.get(to_status)
    if column is None:
        return
    times = declarations.list_move_times(inventory_id=facts.inventory_id, from_status=from_status, to_status=to_status)
    moved_at, declared_at = times if times is not None else (event.created_at, None)
    _count_move(facts, column, to_status, moved_at, declared_at)


def _export_status_changed(event: Event) -> None:
    """An export list's move: its value is converted at the rate of the move's day, so the
    move's time is read before the list's facts."""
    payload = event.payload
    export_list_id = payload.get("export_list_id")
    to_status, from_status = str(payload.get("to_status", "")), str(payload.get("from_status", ""))
    column = EXPORT_COUNTED_MOVES.get(to_status)
    if not isinstance(export_list_id, int) or column is None:
        return
    times = declarations.export_list_move_times(
        export_list_id=export_list_id, from_status=from_status, to_status=to_status
    )
    moved_at, declared_at = times if times is not None else (event.created_at, None)
    facts = declarations.export_list_figure_facts(export_list_id=export_list_id, on=china_day(moved_at))
    if facts is None or facts.first_party_id != event.enterprise_id:
        return
    _count_move(facts, column, to_status, moved_at, declared_at)


def figures_learn(event: Event) -> None:
    """The subscriber: runs in the hub's transaction, in a savepoint of its own.

    The hub hands it only the events that may count (``counts``); one that counts nothing
    leaves the watermark where it is, which only has to keep an event that counts from
    counting twice."""
    if not counts(event) or not _first_time(event.pk):
        return
    if event.type == EXPORT_STATUS_CHANGED:
        _export_status_changed(event)
        return
    inventory_id = event.payload.get("inventory_id")
    if not isinstance(inventory_id, int):
        return
    # Each party of the list is told of it; the list is counted once, for its first party.
    facts = declarations.list_figure_facts(inventory_id=inventory_id, first_party_id=event.enterprise_id)
    if facts is None:
        return
    day = china_day(event.created_at)
    if event.type == STATUS_CHANGED:
        _status_changed(event, facts)
    elif event.type == MATCHING_RESULT and event.payload.get("passed") is False:
        failed = [str(rule) for rule in event.payload.get("failed_rules") or []]
        add_rule_failures(facts, day, RuleKind.MATCHING, failed)
        if set(failed) & set(declarations.QUOTA_RULES):
            add_list_figures(facts, day, {"quota_refused": 1}, with_amounts=False)
    elif event.type in (RISK_REVIEW, RISK_BLOCKED):
        reasons = [str(code) for code in event.payload.get("reasons") or []]
        add_rule_failures(facts, day, RuleKind.RISK, reasons)


def register() -> None:
    """Called once, from ``MonitoringConfig.ready``."""
    register_subscriber(SUBSCRIBER, EVENT_TYPES, figures_learn, accepts=counts)


def today() -> datetime.date:
    return china_day(timezone.now())
