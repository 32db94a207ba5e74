"""The figures of the statistical monitoring, read from the rollups (``monitoring.models``).

Who sees what (``FigureScope``): a regulator the lists of its customs districts (the list's
district or port) and of the parks it is named to (the park of the list's area enterprise, else
of its declaring agent), as the admin's scope rule has it (``declarations.admin.scope``); an
enterprise its own lists, as e-commerce enterprise (``ebc``) or declaring agent (``agent``); a
superuser everything. The restrictions a scope names add up (a row in any of them is in scope).

Counts are of list moves on the day (China time): ``declared`` counts the lists sent to
customs that day, ``released`` those customs released, and so on. Values and taxes are those of
the lists released on the day (the tax estimate's dutiable value and taxes, in CNY). Clearance
time is from a list's latest declaration to its release, from the rollups' histograms.

Figures by origin country or HS chapter (as dimension or filter) come from the goods rollup: a
list counts once in each (country, chapter) group of its items, with those items' value and
taxes; so counts by chapter may add up to more than the lists.

``flow="export"`` reads the export lists' rows instead: the same counts, the items' value
converted to CNY at the stored rate of the release day, no taxes, and ``country`` the items'
destination country (``EXPORT_DIMENSIONS``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import F, Model, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from declarations import selectors as declarations
from monitoring import buckets
from monitoring.models import (
    AMOUNT_FIELDS,
    COUNT_FIELDS,
    DailyGoodsFigures,
    DailyListFigures,
    DailyRegionGoodsFigures,
    DailyRegionListFigures,
    DailyRuleFailures,
    MonthlyGoodsFigures,
    MonthlyListFigures,
    MonthlyRegionGoodsFigures,
    MonthlyRegionListFigures,
    RuleKind,
)
from single_window.models import Enterprise, Park, RegulatorScope
from single_window.roles import GROUPS

# Dimension key -> its label. Keys are the rollups' column names.
DIMENSIONS: Mapping[str, Promise] = {
    "trade_mode": _("trade mode"),
    "district": _("customs district"),
    "port": _("port"),
    "park": _("park"),
    "city": _("city"),
    "country": _("origin country"),
    "hs_chapter": _("HS chapter"),
    "ebc": _("e-commerce enterprise"),
    "agent": _("declaring agent"),
}
# The export flow's goods rows are by the items' destination country, not origin.
EXPORT_DIMENSIONS: Mapping[str, Promise] = {**DIMENSIONS, "country": _("destination country")}
# Dimensions only the goods rollup has.
GOODS_ONLY = frozenset({"country", "hs_chapter"})
FLOWS = ("import", "export")

TRADE_MODES: Mapping[str, Promise] = {
    "9610": _("9610 direct mail"),
    "1210": _("1210 bonded"),
    "1239": _("1239 bonded (new cities)"),
    "9710": _("9710 B2B direct export"),
    "9810": _("9810 export to overseas warehouse"),
}


# --- Scope -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureScope:
    districts: frozenset[str] | None  # customs district codes; None = no restriction
    parks: frozenset[str] | None  # park codes; None = no restriction
    enterprises: frozenset[str] | None  # enterprise codes (ebc/agent); None = no restriction

    @classmethod
    def everything(cls) -> FigureScope:
        return cls(districts=None, parks=None, enterprises=None)

    @property
    def unrestricted(self) -> bool:
        return self.districts is None and self.parks is None and self.enterprises is None

    def q(self, *, with_port: bool = True) -> Q:
        """The rollup rows in scope (any restriction named); everything when none is."""
        if self.unrestricted:
            return Q()
        rows = Q(pk__in=[])
        if self.districts is not None:
            rows |= Q(district__in=self.districts)
            if with_port:
                rows |= Q(port__in=self.districts)
        if self.parks is not None:
            rows |= Q(park__in=self.parks)
        if self.enterprises is not None:
            rows |= Q(ebc__in=self.enterprises) | Q(agent__in=self.enterprises)
        return rows


def scope_of_user(user: AbstractBaseUser | AnonymousUser | None) -> FigureScope | None:
    """A superuser sees everything; a regulator (a member of the regulators' groups) the
    districts and parks it holds; anyone else, or a regulator holding none, no figures."""
    if user is None or not user.is_authenticated or not getattr(user, "is_active", False):
        return None
    if getattr(user, "is_superuser", False):
        return FigureScope.everything()
    if not get_user_model()._default_manager.filter(pk=user.pk, groups__name__in=GROUPS).exists():
        return None
    rows = list(RegulatorScope.objects.filter(user_id=user.pk).select_related("park"))
    districts = frozenset(r.customs_district for r in rows if r.customs_district)
    parks = frozenset(r.park.code for r in rows if r.park is not None)
    if not districts and not parks:
        return None
    return FigureScope(districts=districts or None, parks=parks or None, enterprises=None)


def scope_of_enterprise(enterprise: Enterprise) -> FigureScope:
    """An enterprise's own lists, under any of its codes, as ebc or as declaring agent."""
    return FigureScope(districts=None, parks=None, enterprises=frozenset(enterprise.codes))


# --- Answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    date_from: datetime.date
    date_to: datetime.date
    declared: int
    released: int
    rejected: int
    cancelled: int
    returned: int
    quota_refused: int
    value_cny: Decimal
    duty: Decimal
    vat: Decimal
    consumption_tax: Decimal
    tax_total: Decimal
    clearance_p50_s: float | None
    clearance_p90_s: float | None
    clearance_p99_s: float | None
    rejection_rate: float | None
    risk_review_rate: float | None
    customs_review_rate: float | None
    inspection_rate: float | None
    risk_reviews: int = 0
    customs_reviews: int = 0
    inspections: int = 0
    currency: str = "CNY"


@dataclass(frozen=True)
class SeriesPoint:
    period: datetime.date
    key: str | None
    label: str | None
    declared: int
    released: int
    value_cny: Decimal
    tax_total: Decimal
    clearance_p50_s: float | None
    clearance_p90_s: float | None


@dataclass(frozen=True)
class RegionRow:
    key: str
    label: str
    declared: int
    value_cny: Decimal
    gap_to_leader_cny: Decimal
    share: Decimal
    growth_vs_last_year: Decimal | None


@dataclass(frozen=True)
class RuleCount:
    rule: str
    label: str
    failures: int
    kind: str = RuleKind.MATCHING


class UnknownDimension(ValueError):
    """A dimension or filter key that is not one of ``DIMENSIONS``."""


# --- Reading the rollups -------------------------------------------------------------------------


_SUMS = (*COUNT_FIELDS, *AMOUNT_FIELDS, *buckets.COLUMNS)


def _check_keys(dimension: str | None, filters: Mapping[str, str] | None) -> None:
    for key in [*([dimension] if dimension else []), *(filters or {})]:
        if key not in DIMENSIONS:
            raise UnknownDimension(key)


def _needs_goods(dimension: str | None, filters: Mapping[str, str] | None) -> bool:
    return bool({dimension, *(filters or {})} & GOODS_ONLY)


@dataclass(frozen=True)
class _Segment:
    """A part of a date range and the rollup that answers it."""

    model: type[Model]
    date_from: datetime.date
    date_to: datetime.date
    monthly: bool


def _month_end(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)


ENTERPRISE_DIMENSIONS = frozenset({"ebc", "agent"})


def _segments(
    date_from: datetime.date,
    date_to: datetime.date,
    *,
    goods: bool,
    by_day: bool,
    by_enterprise: bool,
) -> list[_Segment]:
    """Which rollups answer which days, the smallest that can.

    Figures come from the rollups by region unless the enterprises matter (an enterprise's
    scope, an ebc or agent dimension or filter), from the goods rollups only by country or
    chapter; they are read by month for the whole months of the range and by day for the days
    before and after them (and by day throughout for a daily series).
    """
    tables: dict[tuple[bool, bool], tuple[type[Model], type[Model]]] = {
        (False, True): (DailyListFigures, MonthlyListFigures),
        (False, False): (DailyRegionListFigures, MonthlyRegionListFigures),
        (True, True): (DailyGoodsFigures, MonthlyGoodsFigures),
        (True, False): (DailyRegionGoodsFigures, MonthlyRegionGoodsFigures),
    }
    if connection.vendor != "postgresql":
        # The monthly and region rollups are kept by PostgreSQL triggers only.
        return [_Segment(tables[goods, True][0], date_from, date_to, monthly=False)]
    daily, monthly = tables[goods, by_enterprise]
    if by_day:
        return [_Segment(daily, date_from, date_to, monthly=False)]
    first_whole = date_from if date_from.day == 1 else _month_end(date_from) + datetime.timedelta(days=1)
    last_whole = date_to if _month_end(date_to) == date_to else date_to.replace(day=1) - datetime.timedelta(days=1)
    if first_whole > last_whole:
        return [_Segment(daily, date_from, date_to, monthly=False)]
    segments = [_Segment(monthly, first_whole, last_whole, monthly=True)]
    if date_from < first_whole:
        segments.append(_Segment(daily, date_from, first_whole - datetime.timedelta(days=1), monthly=False))
    if last_whole < date_to:
        segments.append(_Segment(daily, last_whole + datetime.timedelta(days=1), date_to, monthly=False))
    return segments


def _sums_orm(
    segment: _Segment,
    scope: FigureScope,
    flow: str,
    filters: Mapping[str, str] | None,
    *,
    fields: Sequence[str],
    interval: str | None,
    dimension: str | None,
) -> list[dict[str, Any]]:
    rows = segment.model._default_manager.filter(
        scope.q(), day__gte=segment.date_from, day__lte=segment.date_to, flow=flow, **dict(filters or {})
    )
    group: dict[str, Any] = {}
    if interval is not None:
        group["period"] = F("day") if interval == "day" or segment.monthly else TruncMonth("day")
    if dimension:
        group["key"] = F(dimension)
    sums = {field: Sum(field) for field in fields}
    if group:
        return list(rows.annotate(**group).values(*group).annotate(**sums).order_by())
    return [rows.aggregate(**sums)]


def _scope_sql(scope: FigureScope) -> tuple[str, list[Any]]:
    """``FigureScope.q`` as SQL (PostgreSQL)."""
    if scope.unrestricted:
        return "TRUE", []
    parts: list[str] = []
    params: list[Any] = []
    if scope.districts is not None:
        parts.append("(district = ANY(%s) OR port = ANY(%s))")
        params += [sorted(scope.districts), sorted(scope.districts)]
    if scope.parks is not None:
        parts.append("park = ANY(%s)")
        params.append(sorted(scope.parks))
    if scope.enterprises is not None:
        parts.append("(ebc = ANY(%s) OR agent = ANY(%s))")
        params += [sorted(scope.enterprises), sorted(scope.enterprises)]
    return f"({' OR '.join(parts)})", params


def _sums_sql(
    segment: _Segment,
    scope: FigureScope,
    flow: str,
    filters: Mapping[str, str] | None,
    *,
    fields: Sequence[str],
    interval: str | None,
    dimension: str | None,
) -> list[dict[str, Any]]:
    """The segment's sums in one statement written here: the ORM takes longer to compile
    seventy aggregates than PostgreSQL takes to compute them. Names come from code (fields,
    ``DIMENSIONS`` keys); values are parameters."""
    table = connection.ops.quote_name(segment.model._meta.db_table)
    group: list[str] = []
    if interval is not None:
        group.append(
            "day AS period" if interval == "day" or segment.monthly else "date_trunc('month', day)::date AS period"
        )
    if dimension:
        group.append(f"{dimension} AS key")
    where, params = _scope_sql(scope)
    conditions = [where, "day >= %s", "day <= %s", "flow = %s"]
    params += [segment.date_from, segment.date_to, flow]
    for name, value in (filters or {}).items():
        conditions.append(f"{name} = %s")
        params.append(value)
    sums = ", ".join(f"sum({field}) AS {field}" for field in fields)
    sql = f"SELECT {', '.join([*group, sums])} FROM {table} WHERE {' AND '.join(conditions)}"  # noqa: S608
    if group:
        sql += " GROUP BY " + ", ".join(str(index) for index in range(1, len(group) + 1))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _figure_rows(
    scope: FigureScope,
    date_from: datetime.date,
    date_to: datetime.date,
    flow: str,
    filters: Mapping[str, str] | None,
    *,
    fields: Sequence[str],
    interval: str | None = None,
    dimension: str | None = None,
) -> list[dict[str, Any]]:
    """The sums of ``fields`` in scope, grouped by ``period`` (``interval``) and ``key``
    (``dimension``) when asked; one aggregate query per segment of the range."""
    goods = _needs_goods(dimension, filters)
    by_enterprise = scope.enterprises is not None or bool({dimension, *(filters or {})} & ENTERPRISE_DIMENSIONS)
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    segments = _segments(date_from, date_to, goods=goods, by_day=interval == "day", by_enterprise=by_enterprise)
    group_names = [*(["period"] if interval is not None else []), *(["key"] if dimension else [])]
    for segment in segments:
        read = _sums_sql if connection.vendor == "postgresql" else _sums_orm
        found = read(segment, scope, flow, filters, fields=fields, interval=interval, dimension=dimension)
        for row in found:
            key = tuple(row.get(name) for name in group_names)
            into = merged.get(key)
            if into is None:
                merged[key] = {**row}
            else:
                for field in fields:
                    into[field] = (into[field] or 0) + (row[field] or 0)
    return [merged[key] for key in sorted(merged, key=lambda k: tuple("" if v is None else v for v in k))]


def _int(value: Any) -> int:
    return int(value or 0)


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _histogram(totals: Mapping[str, Any]) -> list[int]:
    return [_int(totals.get(column)) for column in buckets.COLUMNS]


def summary(
    scope: FigureScope,
    date_from: datetime.date,
    date_to: datetime.date,
    flow: str = "import",
    filters: Mapping[str, str] | None = None,
) -> Summary:
    """The figures of ``date_from``..``date_to`` (inclusive, China-time days) in ``scope``."""
    _check_keys(None, filters)
    [totals] = _figure_rows(scope, date_from, date_to, flow, filters, fields=_SUMS) or [dict.fromkeys(_SUMS)]
    histogram = _histogram(totals)
    declared = _int(totals["declared"])
    duty, vat, ct = _money(totals["duty"]), _money(totals["vat"]), _money(totals["consumption_tax"])
    risk_reviews = _int(totals["risk_reviews"])
    customs_reviews, inspections = _int(totals["customs_reviews"]), _int(totals["inspections"])
    rejected = _int(totals["rejected"])
    return Summary(
        date_from=date_from,
        date_to=date_to,
        declared=declared,
        released=_int(totals["released"]),
        rejected=rejected,
        cancelled=_int(totals["cancelled"]),
        returned=_int(totals["returned"]),
        quota_refused=_int(totals["quota_refused"]),
        value_cny=_money(totals["value_cny"]),
        duty=duty,
        vat=vat,
        consumption_tax=ct,
        tax_total=duty + vat + ct,
        clearance_p50_s=buckets.percentile(histogram, 0.5),
        clearance_p90_s=buckets.percentile(histogram, 0.9),
        clearance_p99_s=buckets.percentile(histogram, 0.99),
        rejection_rate=_rate(rejected, declared),
        # Risk review comes before declaration: its rate is of the lists that reached either.
        risk_review_rate=_rate(risk_reviews, declared + risk_reviews),
        customs_review_rate=_rate(customs_reviews, declared),
        inspection_rate=_rate(inspections, declared),
        risk_reviews=risk_reviews,
        customs_reviews=customs_reviews,
        inspections=inspections,
    )


def series(  # noqa: PLR0917 - the dashboard's contract: positional scope, dates, interval
    scope: FigureScope,
    date_from: datetime.date,
    date_to: datetime.date,
    interval: Literal["day", "month"],
    dimension: str | None = None,
    flow: str = "import",
    filters: Mapping[str, str] | None = None,
) -> list[SeriesPoint]:
    """The figures by day or month (the first day of the month as ``period``), and by the
    values of ``dimension`` when one is given; periods without figures are left out."""
    _check_keys(dimension, filters)
    fields = ("declared", "released", "value_cny", "duty", "vat", "consumption_tax", *buckets.COLUMNS)
    result = _figure_rows(
        scope, date_from, date_to, flow, filters, fields=fields, interval=interval, dimension=dimension
    )
    labels = label_codes(dimension, {row["key"] for row in result}) if dimension else {}
    points = []
    for row in result:
        histogram = _histogram(row)
        key = row.get("key")
        points.append(
            SeriesPoint(
                period=row["period"],
                key=key,
                label=labels.get(key, key) if dimension and key is not None else None,
                declared=_int(row["declared"]),
                released=_int(row["released"]),
                value_cny=_money(row["value_cny"]),
                tax_total=_money(row["duty"]) + _money(row["vat"]) + _money(row["consumption_tax"]),
                clearance_p50_s=buckets.percentile(histogram, 0.5),
                clearance_p90_s=buckets.percentile(histogram, 0.9),
            )
        )
    return points


def _shift_year(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def regional_balance(
    scope: FigureScope, date_from: datetime.date, date_to: datetime.date, level: Literal["city", "park"]
) -> list[RegionRow]:
    """Each city's or park's declared lists and released value, its gap to the leader, its
    share of the value, and its growth against the same days a year before (None without
    figures then). Lists in no park are left out. Largest value first."""
    if level not in ("city", "park"):
        raise UnknownDimension(level)

    def values(start: datetime.date, end: datetime.date) -> list[dict[str, Any]]:
        rows = _figure_rows(scope, start, end, "import", None, fields=("declared", "value_cny"), dimension=level)
        return [{**row, "value": row["value_cny"]} for row in rows if row["key"]]

    now = {row["key"]: row for row in values(date_from, date_to)}
    before = {row["key"]: _money(row["value"]) for row in values(_shift_year(date_from, -1), _shift_year(date_to, -1))}
    total = sum((_money(row["value"]) for row in now.values()), Decimal("0.00"))
    leader = max((_money(row["value"]) for row in now.values()), default=Decimal("0.00"))
    labels = label_codes(level, set(now))
    result = []
    for key, row in now.items():
        value = _money(row["value"])
        last = before.get(key)
        result.append(
            RegionRow(
                key=key,
                label=labels.get(key, key),
                declared=_int(row["declared"]),
                value_cny=value,
                gap_to_leader_cny=leader - value,
                share=(value / total).quantize(Decimal("0.0001")) if total else Decimal(0),
                growth_vs_last_year=((value - last) / last).quantize(Decimal("0.0001")) if last else None,
            )
        )
    return sorted(result, key=lambda r: (-r.value_cny, r.key))


def top_failing_rules(
    scope: FigureScope, date_from: datetime.date, date_to: datetime.date, limit: int = 10
) -> list[RuleCount]:
    """The matching rules that failed lists most often, and the risk rules hit most often."""
    rows = (
        DailyRuleFailures.objects.filter(scope.q(), day__gte=date_from, day__lte=date_to)
        .values("kind", "rule")
        .annotate(failures=Sum("failures"))
        .order_by("-failures", "kind", "rule")[:limit]
    )
    return [
        RuleCount(rule=row["rule"], label=rule_label(row["rule"]), failures=_int(row["failures"]), kind=row["kind"])
        for row in rows
    ]


# --- Labels ------------------------------------------------------------------------------------


def _chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def _country_labels(codes: set[str]) -> dict[str, str]:
    names = declarations.country_names(codes=codes)
    index = 0 if _chinese() else 1
    return {code: f"{code} {pair[index]}" for code, pair in names.items()}


def _park_labels(codes: set[str]) -> dict[str, str]:
    return dict(Park.objects.filter(code__in=codes).values_list("code", "name"))


def _enterprise_labels(codes: set[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for customs_code, uscc, name in Enterprise.objects.filter(
        Q(customs_code__in=codes) | Q(uscc__in=codes)
    ).values_list("customs_code", "uscc", "name"):
        for code in (customs_code, uscc):
            if code in codes:
                labels[code] = name
    return labels


def _trade_mode_labels(codes: set[str]) -> dict[str, str]:
    return {code: str(TRADE_MODES[code]) for code in codes if code in TRADE_MODES}


def _chapter_labels(codes: set[str]) -> dict[str, str]:
    return {code: str(_("Chapter %(chapter)s") % {"chapter": code}) for code in codes}


_LABELLERS: Mapping[str, Callable[[set[str]], dict[str, str]]] = {
    "country": _country_labels,
    "park": _park_labels,
    "ebc": _enterprise_labels,
    "agent": _enterprise_labels,
    "trade_mode": _trade_mode_labels,
    "hs_chapter": _chapter_labels,
}


def label_codes(dimension: str, codes: set[str]) -> dict[str, str]:
    """The labels of a dimension's values in the active language; a code without one is its own
    label (districts and ports are named by their codes)."""
    labeller = _LABELLERS.get(dimension)
    codes = {code for code in codes if code}
    return labeller(codes) if labeller and codes else {}


def rule_label(rule: str) -> str:
    return declarations.rule_label(rule=rule)


def dimensions_of(flow: str) -> Mapping[str, Promise]:
    """The dimensions' labels as the flow's figures mean them."""
    return EXPORT_DIMENSIONS if flow == "export" else DIMENSIONS


def dimension_choices(flow: str = "import") -> Sequence[tuple[str, str]]:
    return [(key, str(label)) for key, label in dimensions_of(flow).items()]
