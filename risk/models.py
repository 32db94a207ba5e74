"""Risk control's own tables: the rules regulators edit, what the rules found, and the history
the rules judge against (kept here, from the facts handed to risk; never another app's rows).

Personal data is held only as the keyed hashes the facts carry (``single_window.hashes``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RuleKind(models.TextChoices):
    RESTRICTED_GOODS = "restricted_goods", _("restricted goods")
    PRICE_ANOMALY = "price_anomaly", _("price anomaly")
    ORDER_SPLITTING = "order_splitting", _("order splitting")
    IDENTITY_FARMING = "identity_farming", _("identity farming (one phone or address, many buyers)")
    BUYER_ADDRESSES = "buyer_addresses", _("one buyer, many addresses")
    BUYER_VELOCITY = "buyer_velocity", _("buyer velocity")
    WEIGHT = "weight", _("weight inconsistent with the goods")
    WATCH_LIST = "watch_list", _("watch list")
    CREDIT_CLASS = "credit_class", _("credit class of an enterprise")
    RANDOM_SELECTION = "random_selection", _("random selection")


class Outcome(models.TextChoices):
    BLOCK = "block", _("block")
    REVIEW = "review", _("review")
    FLAG = "flag", _("flag")


class RuleScope(models.TextChoices):
    ALL = "all", _("all lists")
    DISTRICT = "district", _("a customs district")
    PARK = "park", _("a park")
    TRADE_MODE = "trade_mode", _("a trade mode")


class RiskRule(models.Model):
    """One rule, as regulators edit it. Every change is a new ``version`` with a snapshot
    (``RiskRuleVersion``) and an audit entry (``risk.services.rule_save``)."""

    Kind = RuleKind

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=RuleKind.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Checked per kind (``risk.rules.clean_parameters``); missing keys take the kind's defaults.
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    scope = models.CharField(_("applies to"), max_length=12, choices=RuleScope.choices, default=RuleScope.ALL)
    # The district (4 digits), park code or trade mode the rule applies to; "" for all lists.
    scope_value = models.CharField(_("district, park or trade mode"), max_length=20, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("risk rule")
        verbose_name_plural = _("risk rules")
        ordering = ("code",)
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RuleKind.values), name="risk_rule_kind_valid"),
            models.CheckConstraint(condition=Q(outcome__in=Outcome.values), name="risk_rule_outcome_valid"),
            models.CheckConstraint(condition=Q(scope__in=RuleScope.values), name="risk_rule_scope_valid"),
            # A rule for all lists names nothing; any other scope names what it applies to.
            models.CheckConstraint(
                condition=(Q(scope="all") & Q(scope_value="")) | (~Q(scope="all") & ~Q(scope_value="")),
                name="risk_rule_scope_value",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class RiskRuleVersion(models.Model):
    """A rule as it was from one version on. Append-only."""

    rule = models.ForeignKey(RiskRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    snapshot = models.JSONField(_("snapshot"))
    changed_by = models.CharField(_("changed by"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("risk rule version")
        verbose_name_plural = _("risk rule versions")
        ordering = ("rule", "-version")
        constraints = [models.UniqueConstraint(fields=["rule", "version"], name="risk_rule_version_once")]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.version}"


class Assessment(models.Model):
    """Risk's answer about one list version: asked again, it answers the same (idempotency),
    and what became of the list (consumed, released) and of a review."""

    class State(models.TextChoices):
        RESERVED = "reserved", _("reserved")
        CONSUMED = "consumed", _("consumed")
        RELEASED = "released", _("released")

    class Review(models.TextChoices):
        NONE = "", _("none")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    inventory_id = models.BigIntegerField(_("list id"))
    list_version = models.PositiveIntegerField(_("list version"))
    cop_no = models.CharField(_("list number"), max_length=30)
    customs_code = models.CharField(_("customs district"), max_length=4, blank=True)
    park_code = models.CharField(_("park"), max_length=20, blank=True)
    ebc_code = models.CharField(_("e-commerce enterprise"), max_length=18, blank=True)
    verdict = models.CharField(_("verdict"), max_length=8)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RESERVED)
    outcome = models.CharField(_("list outcome"), max_length=20, blank=True)
    review = models.CharField(_("review"), max_length=10, choices=Review.choices, blank=True)
    reviewed_by = models.CharField(_("reviewed by"), max_length=200, blank=True)
    review_reason = models.CharField(_("review reason"), max_length=300, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")
        constraints = [
            models.UniqueConstraint(fields=["inventory_id", "list_version"], name="risk_assessment_once"),
            models.CheckConstraint(
                condition=Q(verdict__in=["pass", "review", "block"]), name="risk_assessment_verdict"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inventory_id} v{self.list_version}: {self.verdict}"


class RiskHit(models.Model):
    """A rule that fired on a list version, with the figures that made it fire."""

    inventory_id = models.BigIntegerField(_("list id"))
    list_version = models.PositiveIntegerField(_("list version"))
    rule = models.ForeignKey(RiskRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="hits")
    rule_code = models.CharField(_("rule code"), max_length=60)
    rule_version = models.PositiveIntegerField(_("rule version"))
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    evidence = models.JSONField(_("evidence"), default=dict)
    customs_code = models.CharField(_("customs district"), max_length=4, blank=True)
    park_code = models.CharField(_("park"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("risk hit")
        verbose_name_plural = _("risk hits")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["inventory_id", "list_version", "rule"], name="risk_hit_once"),
            models.CheckConstraint(condition=Q(outcome__in=Outcome.values), name="risk_hit_outcome_valid"),
        ]
        indexes = [
            # Monitoring and the admin: WHERE rule_id = ? ORDER BY created_at DESC
            models.Index(fields=["rule", "-created_at"], name="risk_hit_rule_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} on {self.inventory_id} v{self.list_version}"


class ListObservation(models.Model):
    """One list version as the history rules see it: who buys, from whom, for how much, where.
    ``released_at``: the list will not clear under this version (it no longer counts as a part
    of a split order)."""

    inventory_id = models.BigIntegerField(_("list id"))
    list_version = models.PositiveIntegerField(_("list version"))
    buyer_hash = models.CharField(_("buyer"), max_length=64)
    ebc_code = models.CharField(_("e-commerce enterprise"), max_length=18)
    phone_hash = models.CharField(_("consignee phone"), max_length=64, blank=True)
    address_hash = models.CharField(_("consignee address"), max_length=64, blank=True)
    goods_value = models.DecimalField(_("goods value (CNY)"), max_digits=19, decimal_places=2)
    observed_at = models.DateTimeField(_("observed at"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        verbose_name = _("list observation")
        verbose_name_plural = _("list observations")
        constraints = [
            models.UniqueConstraint(fields=["inventory_id", "list_version"], name="risk_list_observation_once"),
        ]
        indexes = [
            # Splitting, velocity, many addresses: WHERE buyer_hash = ? AND observed_at >= ?
            models.Index(fields=["buyer_hash", "observed_at"], name="risk_obs_buyer_idx"),
            # Identity farming: WHERE phone_hash = ? AND observed_at >= ?
            models.Index(fields=["phone_hash", "observed_at"], condition=~Q(phone_hash=""), name="risk_obs_phone_idx"),
            # Identity farming: WHERE address_hash = ? AND observed_at >= ?
            models.Index(
                fields=["address_hash", "observed_at"], condition=~Q(address_hash=""), name="risk_obs_address_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inventory_id} v{self.list_version}"


class PriceObservation(models.Model):
    """A unit price (CNY) declared for a 10-digit commodity code."""

    gcode = models.CharField(_("commodity code"), max_length=10)
    unit_price = models.DecimalField(_("unit price"), max_digits=19, decimal_places=5)
    inventory_id = models.BigIntegerField(_("list id"))
    list_version = models.PositiveIntegerField(_("list version"))
    observed_at = models.DateTimeField(_("observed at"))

    class Meta:
        verbose_name = _("price observation")
        verbose_name_plural = _("price observations")
        indexes = [
            # The latest prices of a code: WHERE gcode = ? ORDER BY observed_at DESC LIMIT n
            models.Index(fields=["gcode", "-observed_at"], name="risk_price_gcode_idx"),
            # Forgetting a released list's prices: WHERE inventory_id = ? AND list_version = ?
            models.Index(fields=["inventory_id", "list_version"], name="risk_price_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.gcode}: {self.unit_price}"


class WatchKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("enterprise (customs code or USCC)")
    BUYER = "buyer", _("buyer ID number")
    PHONE = "phone", _("consignee phone")
    ADDRESS = "address", _("consignee address")


class WatchListEntry(models.Model):
    """An enterprise, buyer, phone or address regulators watch. Enterprises by code; the
    others only by keyed hash (the plain value typed in the admin is never stored)."""

    Kind = WatchKind

    kind = models.CharField(_("kind"), max_length=12, choices=WatchKind.choices)
    value = models.CharField(_("code or keyed hash"), max_length=64)
    # What regulators recognise the entry by, masked for personal data ("138****8000").
    label = models.CharField(_("label"), max_length=200)
    note = models.CharField(_("note"), max_length=300, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("watch-list entry")
        verbose_name_plural = _("watch list")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="risk_watch_once"),
            models.CheckConstraint(condition=Q(kind__in=WatchKind.values), name="risk_watch_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.label}"


class Restriction(models.TextChoices):
    BONDED_ONLY = "bonded_only", _("bonded import (1210) only")
    MAX_QTY = "max_qty", _("quantity limit per list")


class GoodsRestriction(models.Model):
    """Goods the positive list admits with a restriction (its remark), by commodity-code prefix.
    Goods off the positive list fail matching before risk is asked."""

    gcode_prefix = models.CharField(_("commodity code prefix"), max_length=10)
    restriction = models.CharField(_("restriction"), max_length=12, choices=Restriction.choices)
    # For max_qty: the most units (declared quantity) of such goods on one list.
    max_qty = models.DecimalField(_("maximum quantity"), max_digits=19, decimal_places=5, null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("restricted goods")
        verbose_name_plural = _("restricted goods")
        constraints = [
            models.UniqueConstraint(fields=["gcode_prefix", "restriction"], name="risk_goods_restriction_once"),
            models.CheckConstraint(
                condition=Q(restriction__in=Restriction.values), name="risk_goods_restriction_valid"
            ),
            models.CheckConstraint(
                condition=~Q(restriction="max_qty") | Q(max_qty__gt=0), name="risk_goods_max_qty_set"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gcode_prefix}: {self.restriction}"


class WeightBasis(models.TextChoices):
    LEGAL_QTY = "legal_qty", _("kg per unit of the legal first quantity")
    VALUE = "value", _("kg per CNY of value")


class WeightNorm(models.Model):
    """What goods of an HS chapter plausibly weigh, per unit of legal quantity or per CNY."""

    hs_chapter = models.CharField(_("HS chapter"), max_length=2, unique=True)
    basis = models.CharField(_("basis"), max_length=10, choices=WeightBasis.choices)
    min_kg = models.DecimalField(_("minimum kg per unit"), max_digits=12, decimal_places=6)
    max_kg = models.DecimalField(_("maximum kg per unit"), max_digits=12, decimal_places=6)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("weight norm")
        verbose_name_plural = _("weight norms")
        ordering = ("hs_chapter",)
        constraints = [
            models.CheckConstraint(condition=Q(basis__in=WeightBasis.values), name="risk_weight_basis_valid"),
            models.CheckConstraint(
                condition=Q(min_kg__gte=0) & Q(max_kg__gte=models.F("min_kg")), name="risk_weight_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hs_chapter}: {self.min_kg}-{self.max_kg} ({self.basis})"
