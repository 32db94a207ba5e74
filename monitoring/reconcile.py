"""The nightly reconciliation, and the rebuild: recompute the rollups of a day range from the
source tables (aggregated SQL through ``declarations.selectors``), compare them with the stored
rows, record a ``DriftReport`` and, unless asked not to, make the stored rows the recomputed ones.

1. Recompute each rollup for ``[day_from, day_to]`` (China-time days), in one statement each.
2. Read the stored rows of those days, keyed like the recomputation.
3. A key whose figures differ, or that only one side has, is a difference; up to
   ``MONITORING_DRIFT_REPORT_ROWS`` of them are kept in the report with both figures.
4. Correcting: under the lock of the event watermark (the subscriber waits meanwhile), rows
   that differ or are missing take the recomputed figures, and stored rows the source no longer
   supports are deleted.

An empty rollup (a new installation, or history loaded in bulk) is filled the same way: that is
the rebuild (``manage.py monitoring_rebuild --from --to``).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Model, Sum
from django.db.models.functions import TruncMonth

from core.times import CHINA_TZ
from declarations import selectors as declarations
from monitoring import buckets
from monitoring.aggregates import AGGREGATES
from monitoring.models import (
    AMOUNT_FIELDS,
    COUNT_FIELDS,
    GOODS_DIMENSIONS,
    LIST_DIMENSIONS,
    RULE_DIMENSIONS,
    DailyGoodsFigures,
    DailyListFigures,
    DailyRuleFailures,
    DriftReport,
    EventWatermark,
)
from monitoring.rollups import COUNTED_MOVES, EXPORT_COUNTED_MOVES, WATERMARK

logger = logging.getLogger(__name__)

FIGURES = (*COUNT_FIELDS, *AMOUNT_FIELDS, *buckets.COLUMNS)


@dataclass(frozen=True)
class Rollup:
    name: str
    model: type[Model]
    dimensions: tuple[str, ...]
    figures: tuple[str, ...]
    # A monthly rollup's ``day`` is the month's first day.
    monthly: bool = False
    # Summed from the daily rows of ``source`` rather than recomputed from the source tables.
    derived: bool = False
    source: type[Model] | None = None

    @property
    def key_fields(self) -> tuple[str, ...]:
        return ("day", *self.dimensions)


ROLLUPS = (
    Rollup("list", DailyListFigures, LIST_DIMENSIONS, FIGURES),
    Rollup("goods", DailyGoodsFigures, GOODS_DIMENSIONS, FIGURES),
    Rollup("rules", DailyRuleFailures, RULE_DIMENSIONS, ("failures",)),
)
# Checked after the daily rows are right: their sums by month and over the enterprises, which
# triggers keep (``monitoring.aggregates``).
DERIVED = tuple(
    Rollup(
        aggregate.name,
        aggregate.target,
        aggregate.dimensions,
        FIGURES,
        monthly=aggregate.monthly,
        derived=True,
        source=aggregate.source,
    )
    for aggregate in AGGREGATES
)


def _bounds(day_from: datetime.date, day_to: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(day_from, datetime.time.min, tzinfo=CHINA_TZ)
    end = datetime.datetime.combine(day_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=CHINA_TZ)
    return start, end


def month_span(day_from: datetime.date, day_to: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first day of ``day_from``'s month and the last day of ``day_to``'s."""
    last = (day_to.replace(day=1) + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return day_from.replace(day=1), last


def _span(rollup: Rollup, day_from: datetime.date, day_to: datetime.date) -> tuple[datetime.date, datetime.date]:
    return month_span(day_from, day_to) if rollup.monthly else (day_from, day_to)


def _derived_rows(rollup: Rollup, day_from: datetime.date, day_to: datetime.date) -> list[dict[str, Any]]:
    """A derived rollup's rows of the days (or of their months), summed from the daily rows."""
    first, last = _span(rollup, day_from, day_to)
    source = rollup.source or DailyGoodsFigures
    rows = (
        source._default_manager.filter(day__gte=first, day__lte=last)
        .annotate(period=TruncMonth("day") if rollup.monthly else F("day"))
        .values("period", *rollup.dimensions)
        .annotate(**{field: Sum(field) for field in FIGURES})
        .order_by()
    )
    return [{**row, "day": row["period"]} for row in rows]


def recompute(rollup: Rollup, day_from: datetime.date, day_to: datetime.date) -> list[dict[str, Any]]:
    """The rollup's rows of the days, from the source tables, import and export lists (the
    monthly goods rows: from the daily goods rows of their months)."""
    if rollup.derived:
        return _derived_rows(rollup, day_from, day_to)
    start, end = _bounds(day_from, day_to)
    if rollup.name == "rules":
        return declarations.rule_failures_between(start=start, end=end)
    goods = rollup.name == "goods"
    imports = declarations.list_figures_between(
        start=start,
        end=end,
        counted_moves=COUNTED_MOVES,
        quota_column="quota_refused",
        histogram_edges=buckets.EDGES,
        histogram_columns=buckets.COLUMNS,
        goods=goods,
    )
    # The export lists' rows (flow ``export``): keys never meet the import rows'.
    exports = declarations.export_list_figures_between(
        start=start,
        end=end,
        counted_moves=EXPORT_COUNTED_MOVES,
        histogram_edges=buckets.EDGES,
        histogram_columns=buckets.COLUMNS,
        goods=goods,
    )
    return [*imports, *exports]


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return int(value) if isinstance(value, int) else value


def _figures(rollup: Rollup, row: Mapping[str, Any]) -> dict[str, Any]:
    return {field: _normal(row.get(field, 0) or 0) for field in rollup.figures}


def _keyed(rollup: Rollup, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row[field] for field in rollup.key_fields): _figures(rollup, row) for row in rows}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | datetime.date):
        return str(value)
    return value


def _changed(stored: Mapping[str, Any], recomputed: Mapping[str, Any]) -> dict[str, Any]:
    """Only the figures that differ, both ways, for the report."""
    return {
        field: {"stored": _plain(stored.get(field, 0)), "recomputed": _plain(recomputed.get(field, 0))}
        for field in recomputed
        if stored.get(field, 0) != recomputed.get(field, 0)
    }


@dataclass
class RollupDrift:
    rollup: Rollup
    checked: int
    write: dict[tuple[Any, ...], dict[str, Any]]
    delete: list[tuple[Any, ...]]
    differences: list[dict[str, Any]]


def _drift(rollup: Rollup, day_from: datetime.date, day_to: datetime.date, limit: int) -> RollupDrift:
    recomputed = _keyed(rollup, recompute(rollup, day_from, day_to))
    day_from, day_to = _span(rollup, day_from, day_to)
    stored_rows = rollup.model._default_manager.filter(day__gte=day_from, day__lte=day_to).values(
        *rollup.key_fields, *rollup.figures
    )
    stored = _keyed(rollup, list(stored_rows))
    zeros = dict.fromkeys(rollup.figures, 0)
    write: dict[tuple[Any, ...], dict[str, Any]] = {}
    delete: list[tuple[Any, ...]] = []
    differences: list[dict[str, Any]] = []
    for key in sorted(set(recomputed) | set(stored), key=str):
        new, old = recomputed.get(key), stored.get(key)
        if new == old:
            continue
        if new is None:
            # A row the source no longer supports: deleted (all zero rows are kept as they are).
            if any(old.values()):  # type: ignore[union-attr]
                delete.append(key)
            else:
                continue
        else:
            write[key] = new
        if len(differences) < limit:
            differences.append(
                {
                    "table": rollup.name,
                    "key": {field: _plain(value) for field, value in zip(rollup.key_fields, key, strict=True)},
                    "figures": _changed(old or zeros, new or zeros),
                }
            )
    return RollupDrift(rollup, len(recomputed), write, delete, differences)


def _apply(drift: RollupDrift) -> None:
    model = drift.rollup.model
    for key in drift.delete:
        model._default_manager.filter(**dict(zip(drift.rollup.key_fields, key, strict=True))).delete()
    rows = [
        model(**dict(zip(drift.rollup.key_fields, key, strict=True)), **figures) for key, figures in drift.write.items()
    ]
    for chunk in _chunks(rows, 2000):
        model._default_manager.bulk_create(
            chunk,
            update_conflicts=True,
            unique_fields=list(drift.rollup.key_fields),
            update_fields=list(drift.rollup.figures),
        )


def _chunks(rows: list[Model], size: int) -> Iterator[list[Model]]:
    for index in range(0, len(rows), size):
        yield rows[index : index + size]


def figures_reconcile(*, day_from: datetime.date, day_to: datetime.date, correct: bool = True) -> DriftReport:
    """Check (and by default correct) the rollups of ``day_from``..``day_to``; the report."""
    if day_to < day_from:
        msg = "day_to is before day_from"
        raise ValueError(msg)
    began = time.monotonic()
    limit = settings.MONITORING_DRIFT_REPORT_ROWS
    with transaction.atomic():
        if correct:
            # The subscriber moves the watermark in each event's transaction: holding it keeps
            # the live updates out while the rows are compared and rewritten.
            EventWatermark.objects.get_or_create(name=WATERMARK)
            EventWatermark.objects.select_for_update().get(name=WATERMARK)
        drifts = [_drift(rollup, day_from, day_to, limit) for rollup in ROLLUPS]
        if correct:
            for drift in drifts:
                _apply(drift)
        # The derived rollups are summed from the daily rows as they now are.
        for rollup in DERIVED:
            drifts.append(_drift(rollup, day_from, day_to, limit))
            if correct:
                _apply(drifts[-1])
        differing = sum(len(d.write) + len(d.delete) for d in drifts)
        differences = [entry for drift in drifts for entry in drift.differences][:limit]
        report = DriftReport.objects.create(
            day_from=day_from,
            day_to=day_to,
            rows_checked=sum(d.checked for d in drifts),
            rows_differing=differing,
            corrected=correct and differing > 0,
            differences=differences,
            seconds=round(time.monotonic() - began, 3),
        )
    if differing:
        logger.warning(
            "monitoring rollups drifted: %s rows differ from the source over %s..%s (%s)",
            differing,
            day_from,
            day_to,
            "corrected" if correct else "not corrected",
        )
    return report


def months(day_from: datetime.date, day_to: datetime.date) -> Iterator[tuple[datetime.date, datetime.date]]:
    """``day_from``..``day_to`` cut at month ends (a rebuild works a month at a time)."""
    start = day_from
    while start <= day_to:
        next_month = (start.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        end = min(day_to, next_month - datetime.timedelta(days=1))
        yield start, end
        start = end + datetime.timedelta(days=1)
