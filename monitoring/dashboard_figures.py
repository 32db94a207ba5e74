"""The regulators' dashboard's charts: the monitoring figures turned into plotly figures, the
tables under them and the links to the lists behind each number.

A ``Chart`` carries everything one card shows: its title, units and period, the plotly figure
(``data`` and ``layout``, and ``links``: the address behind each point, trace by trace, opened by
a click), and the table of the same numbers. Amounts keep their two decimals, codes come with
their names in the page's language (``monitoring.selectors`` names them), durations are shown in
hours and minutes.

Delayed parcels come from logistics (``logistics.selectors``), which counts waybills by carrier
and knows no district: a regulator with a limited scope sees the carriers registered in its
parks; a superuser every carrier.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from logistics import selectors as logistics
from logistics.models import TransportMode
from monitoring import selectors
from monitoring.dashboard_links import (
    CUSTOMS_REVIEW,
    DECLARED,
    INSPECTION,
    MATCH_FAILED,
    REJECTED,
    RELEASED,
    RISK_REVIEWED,
    Links,
)
from single_window import selectors as registry
from single_window.models import Role
from single_window.scope import Scope

DASH = "\u2013"  # an en dash: no figure
# One colour per meaning, the same on every chart.
COLOURS = {
    "declared": "#2563eb",
    "released": "#059669",
    "value": "#7c3aed",
    "tax": "#d97706",
    "p50": "#2563eb",
    "p90": "#d97706",
    "p99": "#dc2626",
    "rate": "#0891b2",
    "rule": "#dc2626",
    "region": "#4f46e5",
    "delay": "#ea580c",
}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans SC', 'PingFang SC', sans-serif"
CHART_HEIGHT = 300


# --- Formatting -----------------------------------------------------------------------------


def count_text(value: int) -> str:
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def money_text(value: Decimal) -> str:
    """An amount with its two decimals and grouped thousands: 12,345.60."""
    return formats.number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)


def share_text(value: float | Decimal | None) -> str:
    """A share (0.0123) as a percentage with two decimals: 1.23 %."""
    if value is None:
        return DASH
    percent = Decimal(str(value)) * 100
    return f"{formats.number_format(percent, decimal_pos=2, use_l10n=True)} %"


def duration_text(seconds: float | None) -> str:
    """A clearance or journey time: 45 min, 3 h 20 min, 2 d 5 h."""
    if seconds is None:
        return DASH
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def day_text(day: datetime.date) -> str:
    return formats.date_format(day, "DATE_FORMAT", use_l10n=True)


def month_text(day: datetime.date) -> str:
    return formats.date_format(day, "YEAR_MONTH_FORMAT", use_l10n=True)


def _number(value: Decimal | float | int | None) -> float | int | None:
    """A number for the chart (JSON has no decimals)."""
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal) else value


# --- What a card holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    numeric: bool = False


def num(text: str, url: str = "") -> Cell:
    return Cell(text=text, url=url, numeric=True)


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False


@dataclass
class Chart:
    key: str
    title: str
    units: str
    period: str
    columns: list[Column]
    rows: list[list[Cell]]
    data: list[dict[str, Any]] = field(default_factory=list)
    layout: dict[str, Any] = field(default_factory=dict)
    # The address behind each point: one list per trace, one address per point ("" for none).
    links: list[list[str]] = field(default_factory=list)
    note: str = ""
    wide: bool = False

    @property
    def dom_id(self) -> str:
        return f"chart-{self.key}"

    @property
    def data_id(self) -> str:
        return f"chart-{self.key}-data"

    @property
    def empty(self) -> bool:
        return not self.rows

    @property
    def figure(self) -> dict[str, Any]:
        """What the page hands plotly (through ``json_script``)."""
        return {"data": self.data, "layout": self.layout, "links": self.links}


@dataclass(frozen=True)
class Tile:
    """A headline number over the period."""

    key: str
    label: str
    value: str
    units: str
    url: str = ""


@dataclass
class Dashboard:
    tiles: list[Tile]
    charts: list[Chart]


@dataclass(frozen=True)
class Period:
    date_from: datetime.date
    date_to: datetime.date
    interval: Literal["day", "month"]

    @property
    def text(self) -> str:
        return f"{day_text(self.date_from)} {DASH} {day_text(self.date_to)}"

    def start(self) -> datetime.datetime:
        """The first instant of ``date_from`` in the project's time zone (China time)."""
        return timezone.make_aware(datetime.datetime.combine(self.date_from, datetime.time.min))

    def end(self) -> datetime.datetime:
        """The first instant after ``date_to``."""
        following = self.date_to + datetime.timedelta(days=1)
        return timezone.make_aware(datetime.datetime.combine(following, datetime.time.min))

    def bucket(self, period: datetime.date) -> tuple[datetime.date, datetime.date]:
        """The days of a series period (a day, or a month cut to the range)."""
        if self.interval == "day":
            return period, period
        following = (period.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        return max(period, self.date_from), min(following - datetime.timedelta(days=1), self.date_to)

    def label(self, period: datetime.date) -> str:
        return day_text(period) if self.interval == "day" else month_text(period)


def _layout(*, y_title: str, x_title: str = "", **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "height": CHART_HEIGHT,
        "margin": {"l": 64, "r": 16, "t": 12, "b": 36},
        "font": {"family": FONT, "size": 12, "color": "#1f2937"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "x": 0, "y": 1.12},
        "xaxis": {"title": {"text": x_title}, "gridcolor": "#eef0f3", "automargin": True},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#eef0f3", "rangemode": "tozero", "automargin": True},
        "hoverlabel": {"font": {"family": FONT}},
    }
    layout.update(extra)
    return layout


# --- The charts -----------------------------------------------------------------------------


class DashboardBuilder:
    """The dashboard of one user, period and set of filters."""

    def __init__(
        self,
        *,
        scope: selectors.FigureScope,
        user_scope: Scope,
        period: Period,
        links: Links,
        filters: dict[str, str] | None = None,
    ) -> None:
        self.scope = scope
        self.user_scope = user_scope
        self.period = period
        self.links = links
        self.filters = filters or None

    def build(self) -> Dashboard:
        p = self.period
        summary = selectors.summary(self.scope, p.date_from, p.date_to, filters=self.filters)
        points = selectors.series(self.scope, p.date_from, p.date_to, p.interval, filters=self.filters)
        charts = [
            self.volume(points),
            self.value(points),
            self.clearance(points, summary),
            self.rates(summary),
            self.by_dimension("trade_mode", _("Value by trade mode")),
            self.by_dimension("country", _("Value by origin country")),
            *self._unfiltered(
                self.rules(),
                self.delays(),
                self.regions("city", _("Cities compared")),
                self.regions("park", _("Parks compared")),
            ),
        ]
        return Dashboard(tiles=self.tiles(summary), charts=charts)

    def _unfiltered(self, *charts: Chart) -> tuple[Chart, ...]:
        """Charts whose figures the page's filters do not narrow (their sources have no such
        dimension): said so under each while a filter is set."""
        if self.filters:
            for chart in charts:
                chart.note = " ".join(
                    filter(None, (chart.note, _("The trade mode and district filters do not apply here.")))
                )
        return charts

    def _lists(
        self,
        statuses: tuple[str, ...] = (),
        *,
        days: tuple[datetime.date, datetime.date] | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> str:
        """The lists behind a figure: declared on ``days`` (the period by default), in
        ``statuses``, with ``fields``."""
        start, end = days or (self.period.date_from, self.period.date_to)
        return self.links.lists(date_from=start, date_to=end, statuses=statuses, **(fields or {}))

    def tiles(self, summary: selectors.Summary) -> list[Tile]:
        currency = summary.currency
        return [
            Tile("declared", _("Lists declared"), count_text(summary.declared), _("lists"), self._lists(DECLARED)),
            Tile("released", _("Lists released"), count_text(summary.released), _("lists"), self._lists(RELEASED)),
            Tile("rejected", _("Rejected by customs"), count_text(summary.rejected), _("lists"), self._lists(REJECTED)),
            Tile("value", _("Value released"), money_text(summary.value_cny), currency, self._lists(RELEASED)),
            Tile("tax", _("Tax estimated"), money_text(summary.tax_total), currency, self._lists(RELEASED)),
            Tile("clearance", _("Median clearance"), duration_text(summary.clearance_p50_s), "", self._lists(RELEASED)),
        ]

    def volume(self, points: Sequence[selectors.SeriesPoint]) -> Chart:
        p = self.period
        periods = [point.period.isoformat() for point in points]
        declared_links = [self._lists(DECLARED, days=p.bucket(point.period)) for point in points]
        released_links = [self._lists(RELEASED, days=p.bucket(point.period)) for point in points]
        return Chart(
            key="volume",
            title=_("Lists declared and released"),
            units=_("lists per day") if p.interval == "day" else _("lists per month"),
            period=p.text,
            columns=[Column(_("Period")), Column(_("Declared"), True), Column(_("Released"), True)],
            rows=[
                [Cell(p.label(point.period)), num(count_text(point.declared), d), num(count_text(point.released), r)]
                for point, d, r in zip(points, declared_links, released_links, strict=True)
            ],
            data=[
                {
                    "type": "bar",
                    "name": _("Declared"),
                    "x": periods,
                    "y": [point.declared for point in points],
                    "marker": {"color": COLOURS["declared"]},
                },
                {
                    "type": "bar",
                    "name": _("Released"),
                    "x": periods,
                    "y": [point.released for point in points],
                    "marker": {"color": COLOURS["released"]},
                },
            ],
            layout=_layout(y_title=_("lists"), barmode="group", xaxis=_date_axis(p)),
            links=[declared_links, released_links],
        )

    def value(self, points: Sequence[selectors.SeriesPoint]) -> Chart:
        p = self.period
        periods = [point.period.isoformat() for point in points]
        links = [self._lists(RELEASED, days=p.bucket(point.period)) for point in points]
        return Chart(
            key="value",
            title=_("Value and tax of the lists released"),
            units="CNY",
            period=p.text,
            columns=[Column(_("Period")), Column(_("Value (CNY)"), True), Column(_("Tax (CNY)"), True)],
            rows=[
                [Cell(p.label(point.period)), num(money_text(point.value_cny), link), num(money_text(point.tax_total))]
                for point, link in zip(points, links, strict=True)
            ],
            data=[
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": _("Value"),
                    "x": periods,
                    "y": [_number(point.value_cny) for point in points],
                    "line": {"color": COLOURS["value"], "width": 2},
                    "hovertemplate": "%{y:,.2f} CNY",
                },
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": _("Tax"),
                    "x": periods,
                    "y": [_number(point.tax_total) for point in points],
                    "line": {"color": COLOURS["tax"], "width": 2},
                    "hovertemplate": "%{y:,.2f} CNY",
                },
            ],
            layout=_layout(y_title="CNY", xaxis=_date_axis(p), hovermode="x unified"),
            links=[links, links],
        )

    def clearance(self, points: Sequence[selectors.SeriesPoint], summary: selectors.Summary) -> Chart:
        p = self.period
        periods = [point.period.isoformat() for point in points]
        timed = [point for point in points if point.clearance_p50_s is not None]
        links = [self._lists(RELEASED, days=p.bucket(point.period)) for point in points]
        rows = [
            [
                Cell(p.label(point.period)),
                num(duration_text(point.clearance_p50_s), self._lists(RELEASED, days=p.bucket(point.period))),
                num(duration_text(point.clearance_p90_s)),
                num(DASH),
            ]
            for point in timed
        ]
        if timed:
            rows.insert(
                0,
                [
                    Cell(_("Whole period")),
                    num(duration_text(summary.clearance_p50_s), self._lists(RELEASED)),
                    num(duration_text(summary.clearance_p90_s)),
                    num(duration_text(summary.clearance_p99_s)),
                ],
            )
        data: list[dict[str, Any]] = [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _("Median"),
                "x": periods,
                "y": [hours(point.clearance_p50_s) for point in points],
                "line": {"color": COLOURS["p50"], "width": 2},
                "hovertemplate": "%{y:.2f} h",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _("90th percentile"),
                "x": periods,
                "y": [hours(point.clearance_p90_s) for point in points],
                "line": {"color": COLOURS["p90"], "width": 2},
                "hovertemplate": "%{y:.2f} h",
            },
        ]
        chart_links = [links, links]
        if summary.clearance_p99_s is not None and points:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": _("99th percentile, whole period"),
                    "x": [periods[0], periods[-1]],
                    "y": [hours(summary.clearance_p99_s)] * 2,
                    "line": {"color": COLOURS["p99"], "width": 1.5, "dash": "dash"},
                    "hovertemplate": "%{y:.2f} h",
                }
            )
            chart_links.append(["", ""])
        return Chart(
            key="clearance",
            title=_("Clearance time, declaration to release"),
            units=_("hours"),
            period=p.text,
            columns=[
                Column(_("Period")),
                Column(_("Median"), True),
                Column(_("90th percentile"), True),
                Column(_("99th percentile"), True),
            ],
            rows=rows,
            data=data,
            layout=_layout(y_title=_("hours"), xaxis=_date_axis(p), hovermode="x unified"),
            links=chart_links,
        )

    def rates(self, summary: selectors.Summary) -> Chart:
        risk_base = summary.declared + summary.risk_reviews
        figures = (
            (_("Rejected by customs"), summary.rejection_rate, summary.rejected, summary.declared, REJECTED),
            (_("Risk reviews"), summary.risk_review_rate, summary.risk_reviews, risk_base, RISK_REVIEWED),
            (
                _("Customs reviews (300)"),
                summary.customs_review_rate,
                summary.customs_reviews,
                summary.declared,
                CUSTOMS_REVIEW,
            ),
            (_("Inspections (500)"), summary.inspection_rate, summary.inspections, summary.declared, INSPECTION),
        )
        links = [self._lists(statuses) for *_rest, statuses in figures]
        rows = [
            [Cell(label), num(count_text(part), link), num(count_text(whole)), num(share_text(rate))]
            for (label, rate, part, whole, _statuses), link in zip(figures, links, strict=True)
        ]
        return Chart(
            key="rates",
            title=_("Rejections, reviews and inspections"),
            units=_("percent of the lists declared"),
            period=self.period.text,
            columns=[Column(_("Figure")), Column(_("Lists"), True), Column(_("Of"), True), Column(_("Rate"), True)],
            rows=rows if summary.declared or summary.risk_reviews else [],
            data=[
                {
                    "type": "bar",
                    "x": [str(label) for label, *_rest in figures],
                    "y": [round((rate or 0) * 100, 2) for _label, rate, *_rest in figures],
                    "marker": {"color": COLOURS["rate"]},
                    "hovertemplate": "%{y:.2f} %<extra></extra>",
                    "name": _("Rate"),
                }
            ],
            layout=_layout(y_title="%", showlegend=False),
            links=[links],
            note=_("A link opens the lists in that state now."),
        )

    def by_dimension(self, dimension: str, title: str) -> Chart:
        p = self.period
        points = selectors.series(
            self.scope, p.date_from, p.date_to, "month", dimension=dimension, filters=self.filters
        )
        totals: dict[str, list[Any]] = defaultdict(lambda: ["", 0, 0, Decimal("0.00")])
        for point in points:
            key = point.key or ""
            row = totals[key]
            row[0] = point.label or key or _("unknown")
            row[1] += point.declared
            row[2] += point.released
            row[3] += point.value_cny
        ordered = sorted(totals.items(), key=lambda item: (-item[1][3], item[0]))[:10]
        list_field = {"trade_mode": "trade_mode__exact"}.get(dimension)
        links = [self._lists(RELEASED, fields={list_field: key} if list_field else None) for key, _row in ordered]
        labels = [str(row[0]) for _key, row in ordered]
        return Chart(
            key=f"by-{dimension.replace('_', '-')}",
            title=title,
            units="CNY",
            period=p.text,
            columns=[
                Column(str(selectors.DIMENSIONS[dimension]).capitalize()),
                Column(_("Declared"), True),
                Column(_("Released"), True),
                Column(_("Value (CNY)"), True),
            ],
            rows=[
                [Cell(str(row[0])), num(count_text(row[1])), num(count_text(row[2]), link), num(money_text(row[3]))]
                for (_key, row), link in zip(ordered, links, strict=True)
            ],
            data=[
                {
                    "type": "bar",
                    "orientation": "h",
                    "y": [_short(label) for label in labels][::-1],
                    "hovertext": labels[::-1],
                    "x": [_number(row[3]) for _key, row in ordered][::-1],
                    "marker": {"color": COLOURS["value"]},
                    "hovertemplate": "%{hovertext}: %{x:,.2f} CNY<extra></extra>",
                    "name": _("Value"),
                }
            ],
            layout=_bars_layout(x_title="CNY", bars=len(ordered)),
            links=[links[::-1]],
            note=(
                ""
                if list_field
                else _("The value of the items from each country; a list with items from several counts in each.")
            ),
        )

    def rules(self) -> Chart:
        p = self.period
        rules = selectors.top_failing_rules(self.scope, p.date_from, p.date_to, limit=10)
        kinds = {"matching": _("matching"), "risk": _("risk")}
        links = [
            self._lists(MATCH_FAILED, fields={"failed_rule": rule.rule})
            if rule.kind == "matching"
            else self._lists(RISK_REVIEWED)
            for rule in rules
        ]
        labels = _unique([_rule_label(rule) for rule in rules], [rule.rule for rule in rules])
        return Chart(
            key="rules",
            title=_("Rules failed most often"),
            units=_("failures"),
            period=p.text,
            columns=[Column(_("Rule")), Column(_("Kind")), Column(_("Failures"), True)],
            rows=[
                [Cell(label), Cell(str(kinds.get(rule.kind, rule.kind))), num(count_text(rule.failures), link)]
                for rule, label, link in zip(rules, labels, links, strict=True)
            ],
            data=[
                {
                    "type": "bar",
                    "orientation": "h",
                    "y": [_short(label) for label in labels][::-1],
                    "hovertext": labels[::-1],
                    "x": [rule.failures for rule in rules][::-1],
                    "marker": {"color": COLOURS["rule"]},
                    "hovertemplate": "%{hovertext}: %{x}<extra></extra>",
                    "name": _("Failures"),
                }
            ],
            layout=_bars_layout(x_title=_("failures"), bars=len(rules)),
            links=[links[::-1]],
            note=_("A link opens the lists that failed the matching rule, or went to risk review, in the period."),
        )

    def regions(self, level: str, title: str) -> Chart:
        p = self.period
        rows = selectors.regional_balance(self.scope, p.date_from, p.date_to, level)  # type: ignore[arg-type]
        # A park's row opens its lists (the list page filters by park); a city's, the period's.
        park_ids = registry.park_ids_by_code([row.key for row in rows]) if level == "park" else {}
        row_links = [
            self._lists(RELEASED, fields={"park": str(park_ids[row.key])} if row.key in park_ids else None)
            for row in rows
        ]
        labels = [row.label or row.key for row in rows]
        growth = [
            None if row.growth_vs_last_year is None else round(float(row.growth_vs_last_year) * 100, 2) for row in rows
        ]
        chart = Chart(
            key=f"regions-{level}",
            title=title,
            units="CNY",
            period=p.text,
            columns=[
                Column(_("City") if level == "city" else _("Park")),
                Column(_("Declared"), True),
                Column(_("Value (CNY)"), True),
                Column(_("Share"), True),
                Column(_("Gap to the leader (CNY)"), True),
                Column(_("Growth on a year before"), True),
            ],
            rows=[
                [
                    Cell(label),
                    num(count_text(row.declared)),
                    num(money_text(row.value_cny), link),
                    num(share_text(row.share)),
                    num(money_text(row.gap_to_leader_cny)),
                    num(share_text(row.growth_vs_last_year)),
                ]
                for row, label, link in zip(rows, labels, row_links, strict=True)
            ],
            data=[
                {
                    "type": "bar",
                    "name": _("Value"),
                    "x": labels,
                    "y": [_number(row.value_cny) for row in rows],
                    "marker": {"color": COLOURS["region"]},
                    "hovertemplate": "%{y:,.2f} CNY",
                },
                {
                    "type": "bar",
                    "name": _("Gap to the leader"),
                    "x": labels,
                    "y": [_number(row.gap_to_leader_cny) for row in rows],
                    "marker": {"color": "#c7d2fe"},
                    "hovertemplate": "%{y:,.2f} CNY",
                },
            ],
            layout=_layout(
                y_title="CNY",
                barmode="stack",
                hovermode="x unified",
                # A lone bar would fill the card.
                bargap=0.6 if len(rows) < 3 else 0.25,
                margin={"l": 64, "r": 48, "t": 12, "b": 40},
            ),
            links=[row_links, row_links],
            note=_("Lists by the park of their bonded warehouse, else of their declaring agent."),
            wide=True,
        )
        if any(value is not None for value in growth):
            chart.data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": _("Growth on a year before, percent"),
                    "x": labels,
                    "y": growth,
                    "yaxis": "y2",
                    "marker": {"color": COLOURS["tax"], "size": 11, "symbol": "diamond"},
                    "hovertemplate": "%{y:.2f} %",
                }
            )
            chart.layout["yaxis2"] = {
                "title": {"text": "%"},
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "zeroline": True,
            }
            chart.links.append([""] * len(rows))
        return chart

    def _carriers(self) -> list[str] | None:
        """The carriers whose parcels this user sees: every carrier (None) for an unlimited
        scope, else those registered in the user's parks."""
        if self.scope.unrestricted:
            return None
        carriers = self.user_scope.enterprises().filter(role_set__role=Role.LOGISTICS)
        return sorted({code for pair in carriers.values_list("customs_code", "uscc") for code in pair if code})

    def delays(self) -> Chart:
        p = self.period
        since, until = p.start(), p.end()
        carriers = self._carriers()
        shares: list[logistics.DelayShare] = []
        journeys: list[logistics.Durations] = []
        for code in [None] if carriers is None else carriers:
            shares += logistics.delay_shares(since=since, until=until, logistics_code=code)
            journeys += logistics.journey_times(since=since, until=until, logistics_code=code)
        times = {(j.logistics_code, j.transport_mode): j for j in journeys}
        names = {
            code: enterprise.name
            for code, enterprise in registry.enterprises_by_codes(s.logistics_code for s in shares).items()
        }
        modes = dict(TransportMode.choices)
        ordered = sorted(shares, key=lambda s: (-s.share, s.logistics_code, s.transport_mode))
        labels = _unique(
            [f"{names.get(s.logistics_code, s.logistics_code)} · {modes.get(s.transport_mode, DASH)}" for s in ordered],
            [s.logistics_code for s in ordered],
        )
        links = [self._lists(fields={"logistics_code": s.logistics_code}) for s in ordered]
        rows = []
        for share, label, link in zip(ordered, labels, links, strict=True):
            journey = times.get((share.logistics_code, share.transport_mode))
            rows.append(
                [
                    Cell(label, link),
                    num(count_text(share.waybills)),
                    num(count_text(share.delayed)),
                    num(share_text(share.share)),
                    num(duration_text(journey.median_seconds if journey else None)),
                    num(duration_text(journey.p90_seconds if journey else None)),
                ]
            )
        return Chart(
            key="delays",
            title=_("Delayed parcels by carrier"),
            units=_("percent of the waybills"),
            period=p.text,
            columns=[
                Column(_("Carrier and transport")),
                Column(_("Waybills"), True),
                Column(_("Delayed"), True),
                Column(_("Share delayed"), True),
                Column(_("Journey, median"), True),
                Column(_("Journey, 90th pct."), True),
            ],
            rows=rows,
            data=[
                {
                    "type": "bar",
                    "orientation": "h",
                    "y": [_short(label) for label in labels][::-1],
                    "hovertext": labels[::-1],
                    "x": [round(s.share * 100, 2) for s in ordered][::-1],
                    "marker": {"color": COLOURS["delay"]},
                    "hovertemplate": "%{hovertext}: %{x:.2f} %<extra></extra>",
                    "name": _("Share delayed"),
                }
            ],
            layout=_bars_layout(x_title="%", bars=len(ordered)),
            links=[links[::-1]],
            note=_("Waybills whose first tracking event falls in the period; a link opens the carrier's lists."),
        )


def _unique(labels: list[str], codes: list[str]) -> list[str]:
    """The labels, with the code added to those two rows share (a chart's categories are its labels)."""
    seen: dict[str, int] = defaultdict(int)
    for label in labels:
        seen[label] += 1
    return [f"{label} ({code})" if seen[label] > 1 else label for label, code in zip(labels, codes, strict=True)]


def _rule_label(rule: selectors.RuleCount) -> str:
    return rule.label if rule.label == rule.rule else f"{rule.label} ({rule.rule})"


def _bars_layout(*, x_title: str, bars: int) -> dict[str, Any]:
    """A horizontal bar chart's layout: room for the labels, bars no fatter when they are few."""
    return _layout(
        y_title="",
        x_title=x_title,
        showlegend=False,
        margin={"l": 8, "r": 16, "t": 12, "b": 40},
        bargap=0.6 if bars < 3 else 0.3,
        yaxis={"automargin": True, "ticksuffix": "  ", "gridcolor": "#eef0f3"},
    )


def _short(label: str, limit: int = 38) -> str:
    """A chart's category label; the table under it has the whole one."""
    return label if len(label) <= limit else f"{label[: limit - 1]}…"


def _date_axis(period: Period) -> dict[str, Any]:
    axis: dict[str, Any] = {"type": "date", "gridcolor": "#eef0f3", "automargin": True}
    if period.interval == "month":
        axis.update(tickformat="%Y-%m", dtick="M1")
    else:
        axis.update(tickformat="%m-%d")
    return axis


def scope_text(scope: selectors.FigureScope) -> str:
    """Whose figures the page shows, in words."""
    if scope.unrestricted:
        return _("All customs districts and parks")
    parts: list[str] = []
    if scope.districts:
        parts.append(_("customs districts %(codes)s") % {"codes": ", ".join(sorted(scope.districts))})
    if scope.parks:
        names = selectors.label_codes("park", set(scope.parks))
        named = ", ".join(sorted(f"{names[code]} ({code})" if code in names else code for code in scope.parks))
        parts.append(_("parks %(codes)s") % {"codes": named})
    if scope.enterprises:
        parts.append(_("enterprises %(codes)s") % {"codes": ", ".join(sorted(scope.enterprises))})
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]
