"""The rollups of the statistical monitoring: figures by day and dimension values, never by list.

A rollup row holds the counts, values and taxes of one China-time day for one combination of
dimension values (flow, trade mode, customs district, port, park, city, e-commerce enterprise,
declaring agent; the goods rollup adds origin country and HS chapter). Its row count grows
with days x the combinations that occur, not with the number of lists. Rows are kept current by
``monitoring.rollups`` (one upsert per event) and checked every night by
``monitoring.reconcile`` against the source tables.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from monitoring import buckets


class Flow(models.TextChoices):
    IMPORT = "import", _("import")
    EXPORT = "export", _("export")


# The list-level dimension columns, in the order of the rollups' unique key (after ``day``).
LIST_DIMENSIONS = ("flow", "trade_mode", "district", "port", "park", "city", "ebc", "agent")
GOODS_DIMENSIONS = (*LIST_DIMENSIONS, "country", "hs_chapter")
# The goods rollups by region: without the enterprises, for readers who see whole districts or
# parks (an enterprise's own figures need the enterprise columns).
REGION_LIST_DIMENSIONS = ("flow", "trade_mode", "district", "port", "park", "city")
REGION_GOODS_DIMENSIONS = ("flow", "trade_mode", "district", "port", "park", "city", "country", "hs_chapter")
RULE_DIMENSIONS = ("flow", "kind", "rule", "district", "port", "park", "ebc", "agent")

# The counters every figures row adds up; the histogram columns come after them.
COUNT_FIELDS = (
    "declared",
    "released",
    "rejected",
    "cancelled",
    "returned",
    "quota_refused",
    "risk_reviews",
    "customs_reviews",
    "inspections",
    "clearance_count",
    "clearance_seconds",
)
AMOUNT_FIELDS = ("value_cny", "duty", "vat", "consumption_tax")
FIGURE_FIELDS = (*COUNT_FIELDS, *AMOUNT_FIELDS, *buckets.COLUMNS)


class Figures(models.Model):
    """What a figures row counts (abstract): lists moved on the day, and released lists' value."""

    day = models.DateField(_("day"))
    flow = models.CharField(_("flow"), max_length=6, choices=Flow.choices, default=Flow.IMPORT)
    trade_mode = models.CharField(_("trade mode"), max_length=4)
    district = models.CharField(_("customs district"), max_length=4)
    port = models.CharField(_("port"), max_length=4)
    park = models.CharField(_("park"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    ebc = models.CharField(_("e-commerce enterprise"), max_length=18)
    agent = models.CharField(_("declaring agent"), max_length=18)

    declared = models.PositiveIntegerField(_("declared"), default=0)
    released = models.PositiveIntegerField(_("released"), default=0)
    rejected = models.PositiveIntegerField(_("rejected by customs"), default=0)
    cancelled = models.PositiveIntegerField(_("cancelled"), default=0)
    returned = models.PositiveIntegerField(_("returned"), default=0)
    quota_refused = models.PositiveIntegerField(_("refused by quota"), default=0)
    risk_reviews = models.PositiveIntegerField(_("risk reviews"), default=0)
    customs_reviews = models.PositiveIntegerField(_("customs reviews"), default=0)
    inspections = models.PositiveIntegerField(_("inspections"), default=0)
    # Released lists with a declared time, and the sum of their clearance seconds.
    clearance_count = models.PositiveIntegerField(_("timed clearances"), default=0)
    clearance_seconds = models.PositiveBigIntegerField(_("clearance seconds"), default=0)
    # Of the lists released on the day, in CNY (the tax estimate's dutiable value and taxes).
    value_cny = models.DecimalField(_("value (CNY)"), max_digits=19, decimal_places=2, default=0)
    duty = models.DecimalField(_("customs duty"), max_digits=19, decimal_places=2, default=0)
    vat = models.DecimalField(_("VAT"), max_digits=19, decimal_places=2, default=0)
    consumption_tax = models.DecimalField(_("consumption tax"), max_digits=19, decimal_places=2, default=0)

    class Meta:
        abstract = True

    def histogram(self) -> list[int]:
        return [getattr(self, column) for column in buckets.COLUMNS]


def _add_histogram(model: type[models.Model]) -> None:
    """One integer column per clearance-time bucket (``monitoring.buckets``)."""
    for index, column in enumerate(buckets.COLUMNS):
        low, high = buckets.bucket_bounds(index)
        field = models.PositiveIntegerField(
            format_lazy(_("clearances in bucket {index}"), index=index),
            default=0,
            help_text=f"[{low:.0f}, {high:.0f}) s",
        )
        model.add_to_class(column, field)


class DailyListFigures(Figures):
    """One row per day and list-level dimension values."""

    class Meta:
        verbose_name = _("daily list figures")
        verbose_name_plural = _("daily list figures")
        constraints = [
            # The upsert's conflict target; also the index of every query by day range.
            models.UniqueConstraint(fields=["day", *LIST_DIMENSIONS], name="monitoring_list_figures_key"),
        ]
        indexes = [
            # Scoped queries: WHERE district IN (...) / park IN (...) / ebc IN (...) OR agent IN (...)
            # AND day BETWEEN ...
            models.Index(fields=["district", "day"], name="monitoring_list_district_idx"),
            models.Index(fields=["port", "day"], name="monitoring_list_port_idx"),
            models.Index(fields=["park", "day"], name="monitoring_list_park_idx"),
            models.Index(fields=["ebc", "day"], name="monitoring_list_ebc_idx"),
            models.Index(fields=["agent", "day"], name="monitoring_list_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.district}/{self.ebc}/{self.agent}"


class DailyGoodsFigures(Figures):
    """One row per day, list-level dimension values, origin country and HS chapter: a list counts
    once in each (country, chapter) group of its items, with the value and taxes of those items."""

    country = models.CharField(_("origin country"), max_length=3)
    hs_chapter = models.CharField(_("HS chapter"), max_length=2)

    class Meta:
        verbose_name = _("daily goods figures")
        verbose_name_plural = _("daily goods figures")
        constraints = [
            models.UniqueConstraint(fields=["day", *GOODS_DIMENSIONS], name="monitoring_goods_figures_key"),
        ]
        indexes = [
            models.Index(fields=["district", "day"], name="monitoring_goods_district_idx"),
            models.Index(fields=["park", "day"], name="monitoring_goods_park_idx"),
            models.Index(fields=["ebc", "day"], name="monitoring_goods_ebc_idx"),
            models.Index(fields=["agent", "day"], name="monitoring_goods_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.country}/{self.hs_chapter}"


class MonthlyGoodsFigures(Figures):
    """The goods rollup by month (``day`` is the month's first day): the sums of its days' rows.
    Long ranges read whole months here, thirty times fewer rows than by day."""

    country = models.CharField(_("origin country"), max_length=3)
    hs_chapter = models.CharField(_("HS chapter"), max_length=2)

    class Meta:
        verbose_name = _("monthly goods figures")
        verbose_name_plural = _("monthly goods figures")
        constraints = [
            models.UniqueConstraint(fields=["day", *GOODS_DIMENSIONS], name="monitoring_goods_month_key"),
            models.CheckConstraint(condition=Q(day__day=1), name="monitoring_goods_month_first_day"),
        ]
        indexes = [
            models.Index(fields=["district", "day"], name="monitoring_gm_district_idx"),
            models.Index(fields=["park", "day"], name="monitoring_gm_park_idx"),
            models.Index(fields=["ebc", "day"], name="monitoring_gm_ebc_idx"),
            models.Index(fields=["agent", "day"], name="monitoring_gm_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m} {self.country}/{self.hs_chapter}"


class MonthlyListFigures(Figures):
    """The list rollup by month (``day`` is the month's first day)."""

    class Meta:
        verbose_name = _("monthly list figures")
        verbose_name_plural = _("monthly list figures")
        constraints = [
            models.UniqueConstraint(fields=["day", *LIST_DIMENSIONS], name="monitoring_list_month_key"),
            models.CheckConstraint(condition=Q(day__day=1), name="monitoring_list_month_first_day"),
        ]
        indexes = [
            models.Index(fields=["district", "day"], name="monitoring_lm_district_idx"),
            models.Index(fields=["port", "day"], name="monitoring_lm_port_idx"),
            models.Index(fields=["park", "day"], name="monitoring_lm_park_idx"),
            models.Index(fields=["ebc", "day"], name="monitoring_lm_ebc_idx"),
            models.Index(fields=["agent", "day"], name="monitoring_lm_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m} {self.district}/{self.ebc}/{self.agent}"


class RegionListFigures(models.Model):
    """The list figures without the enterprise columns (abstract)."""

    day = models.DateField(_("day"))
    flow = models.CharField(_("flow"), max_length=6, choices=Flow.choices, default=Flow.IMPORT)
    trade_mode = models.CharField(_("trade mode"), max_length=4)
    district = models.CharField(_("customs district"), max_length=4)
    port = models.CharField(_("port"), max_length=4)
    park = models.CharField(_("park"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)

    class Meta:
        abstract = True

    def histogram(self) -> list[int]:
        return [getattr(self, column) for column in buckets.COLUMNS]


class DailyRegionListFigures(RegionListFigures):
    """The daily list rollup summed over the enterprises."""

    class Meta:
        verbose_name = _("daily list figures by region")
        verbose_name_plural = _("daily list figures by region")
        constraints = [
            models.UniqueConstraint(fields=["day", *REGION_LIST_DIMENSIONS], name="monitoring_region_list_key"),
        ]
        indexes = [
            models.Index(fields=["district", "day"], name="monitoring_rl_district_idx"),
            models.Index(fields=["port", "day"], name="monitoring_rl_port_idx"),
            models.Index(fields=["park", "day"], name="monitoring_rl_park_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.district}/{self.park}"


class MonthlyRegionListFigures(RegionListFigures):
    """The monthly list rollup summed over the enterprises (``day``: the month's first day)."""

    class Meta:
        verbose_name = _("monthly list figures by region")
        verbose_name_plural = _("monthly list figures by region")
        constraints = [
            models.UniqueConstraint(fields=["day", *REGION_LIST_DIMENSIONS], name="monitoring_region_list_m_key"),
            models.CheckConstraint(condition=Q(day__day=1), name="monitoring_region_list_m_first_day"),
        ]
        indexes = [
            models.Index(fields=["district", "day"], name="monitoring_rlm_district_idx"),
            models.Index(fields=["port", "day"], name="monitoring_rlm_port_idx"),
            models.Index(fields=["park", "day"], name="monitoring_rlm_park_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m} {self.district}/{self.park}"


class RegionGoodsFigures(models.Model):
    """The goods figures without the enterprise columns (abstract)."""

    day = models.DateField(_("day"))
    flow = models.CharField(_("flow"), max_length=6, choices=Flow.choices, default=Flow.IMPORT)
    trade_mode = models.CharField(_("trade mode"), max_length=4)
    district = models.CharField(_("customs district"), max_length=4)
    port = models.CharField(_("port"), max_length=4)
    park = models.CharField(_("park"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("origin country"), max_length=3)
    hs_chapter = models.CharField(_("HS chapter"), max_length=2)

    class Meta:
        abstract = True

    def histogram(self) -> list[int]:
        return [getattr(self, column) for column in buckets.COLUMNS]


class DailyRegionGoodsFigures(RegionGoodsFigures):
    """The daily goods rollup summed over the enterprises."""

    class Meta:
        verbose_name = _("daily goods figures by region")
        verbose_name_plural = _("daily goods figures by region")
        constraints = [
            models.UniqueConstraint(fields=["day", *REGION_GOODS_DIMENSIONS], name="monitoring_region_goods_key"),
        ]
        indexes = [
            models.Index(fields=["district", "day"], name="monitoring_rg_district_idx"),
            models.Index(fields=["port", "day"], name="monitoring_rg_port_idx"),
            models.Index(fields=["park", "day"], name="monitoring_rg_park_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.district}/{self.country}/{self.hs_chapter}"


class MonthlyRegionGoodsFigures(RegionGoodsFigures):
    """The monthly goods rollup summed over the enterprises (``day``: the month's first day)."""

    class Meta:
        verbose_name = _("monthly goods figures by region")
        verbose_name_plural = _("monthly goods figures by region")
        constraints = [
            models.UniqueConstraint(fields=["day", *REGION_GOODS_DIMENSIONS], name="monitoring_region_goods_m_key"),
            models.CheckConstraint(condition=Q(day__day=1), name="monitoring_region_goods_m_first_day"),
        ]
        indexes = [
            models.Index(fields=["district", "day"], name="monitoring_rgm_district_idx"),
            models.Index(fields=["port", "day"], name="monitoring_rgm_port_idx"),
            models.Index(fields=["park", "day"], name="monitoring_rgm_park_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m} {self.district}/{self.country}/{self.hs_chapter}"


def _add_figures(model: type[models.Model]) -> None:
    """The counters and amounts of ``Figures``, on a model that does not inherit them."""
    for field in Figures._meta.local_fields:
        if field.name in COUNT_FIELDS or field.name in AMOUNT_FIELDS:
            model.add_to_class(field.name, field.clone())


_add_histogram(DailyListFigures)
_add_histogram(MonthlyListFigures)
_add_histogram(DailyGoodsFigures)
_add_histogram(MonthlyGoodsFigures)
for _model in (DailyRegionListFigures, MonthlyRegionListFigures, DailyRegionGoodsFigures, MonthlyRegionGoodsFigures):
    _add_figures(_model)
    _add_histogram(_model)


class RuleKind(models.TextChoices):
    MATCHING = "matching", _("matching rule")
    RISK = "risk", _("risk rule")


class DailyRuleFailures(models.Model):
    """How often a rule failed a list (matching) or was hit (risk) on a day, by scope dimensions."""

    day = models.DateField(_("day"))
    flow = models.CharField(_("flow"), max_length=6, choices=Flow.choices, default=Flow.IMPORT)
    kind = models.CharField(_("kind"), max_length=8, choices=RuleKind.choices)
    rule = models.CharField(_("rule"), max_length=60)
    district = models.CharField(_("customs district"), max_length=4)
    port = models.CharField(_("port"), max_length=4)
    park = models.CharField(_("park"), max_length=32, blank=True)
    ebc = models.CharField(_("e-commerce enterprise"), max_length=18)
    agent = models.CharField(_("declaring agent"), max_length=18)
    failures = models.PositiveIntegerField(_("failures"), default=0)

    class Meta:
        verbose_name = _("daily rule failures")
        verbose_name_plural = _("daily rule failures")
        constraints = [
            models.UniqueConstraint(fields=["day", *RULE_DIMENSIONS], name="monitoring_rule_failures_key"),
            models.CheckConstraint(condition=Q(kind__in=RuleKind.values), name="monitoring_rule_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}:{self.rule} {self.failures}"


class EventWatermark(models.Model):
    """The last event the rollups took in. Events reach the subscriber once and in id order
    (``single_window.subscriptions``); an event at or below the mark is never counted again."""

    name = models.CharField(_("name"), max_length=32, primary_key=True)
    last_event_id = models.PositiveBigIntegerField(_("last event id"), default=0)

    class Meta:
        verbose_name = _("event watermark")
        verbose_name_plural = _("event watermarks")

    def __str__(self) -> str:
        return f"{self.name}: {self.last_event_id}"


class DriftReport(models.Model):
    """What one reconciliation found: the rollup rows that differed from a recomputation from
    the source tables over ``day_from``..``day_to``, with both figures (up to a cap)."""

    day_from = models.DateField(_("from"))
    day_to = models.DateField(_("to"))
    rows_checked = models.PositiveIntegerField(_("rows checked"), default=0)
    rows_differing = models.PositiveIntegerField(_("rows differing"), default=0)
    corrected = models.BooleanField(_("corrected"), default=False)
    # Each difference: the table, the row's key, and each figure that differs, stored and recomputed.
    differences = models.JSONField(_("differences"), default=list, blank=True)
    seconds = models.FloatField(_("seconds"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("drift report")
        verbose_name_plural = _("drift reports")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(day_to__gte=models.F("day_from")), name="monitoring_drift_days_order"),
        ]

    def __str__(self) -> str:
        return f"{self.day_from}..{self.day_to}: {self.rows_differing}"
