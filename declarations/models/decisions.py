"""What the single window decides about a declared list: every rule result, the buyer's
quota and the estimated tax."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

from declarations.models.documents import Inventory

ANNUAL_LIMIT = 26000
SINGLE_LIMIT = 5000


class RuleResult(models.Model):
    """One rule's outcome in one matching run of a list."""

    class Outcome(models.TextChoices):
        PASSED = "passed", _("passed")
        FAILED = "failed", _("failed")

    inventory = models.ForeignKey(
        Inventory, verbose_name=_("declaration list"), on_delete=models.CASCADE, related_name="rule_results"
    )
    run = models.PositiveIntegerField(_("matching run"))
    rule = models.CharField(_("rule"), max_length=60)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    field = models.CharField(_("field"), max_length=100, blank=True)
    list_value = models.CharField(_("value on the list"), max_length=300, blank=True)
    other_value = models.CharField(_("value on the other document"), max_length=300, blank=True)
    documents = models.JSONField(_("documents involved"), default=list)
    customs_code = models.CharField(_("customs error code"), max_length=10, blank=True)
    # Why the outcome is what it is when the documents alone don't say (a partner's answer).
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rule result")
        verbose_name_plural = _("rule results")
        ordering = ("created_at", "id")
        indexes = [
            # The trace and the admin: WHERE inventory = ? ORDER BY created_at
            models.Index(fields=["inventory", "run"], name="rule_result_run_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.outcome}"


class DeclareDecision(models.Model):
    """One system's answer in the declare step for one version of a list, and what became of
    what it reserved (``declarations.clearance.declare``)."""

    class State(models.TextChoices):
        RESERVED = "reserved", _("reserved")  # asked; whatever it holds is held
        CONSUMED = "consumed", _("consumed")  # customs released the list
        RELEASED = "released", _("released")  # the list will not be released in this version

    inventory = models.ForeignKey(
        Inventory, verbose_name=_("declaration list"), on_delete=models.CASCADE, related_name="declare_decisions"
    )
    version = models.PositiveIntegerField(_("list version"))
    system = models.CharField(_("system"), max_length=40)
    verdict = models.CharField(_("verdict"), max_length=10)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    hold_until = models.DateTimeField(_("hold until"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RESERVED)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("declare-step decision")
        verbose_name_plural = _("declare-step decisions")
        ordering = ("created_at", "id")
        constraints = [
            models.UniqueConstraint(fields=["inventory", "version", "system"], name="declare_decision_unique"),
            models.CheckConstraint(
                condition=Q(verdict__in=["pass", "review", "hold", "block"]), name="declare_decision_verdict_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["reserved", "consumed", "released"]), name="declare_decision_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inventory_id} v{self.version} {self.system}: {self.verdict}"


class BuyerYearQuota(models.Model):
    """A buyer's annual quota (26,000 CNY) for one calendar year in China Standard Time.

    The check constraint is the last line of defence: no two lists can together overshoot,
    whatever the code above it does.
    """

    buyer_id_hash = models.CharField(_("buyer (lookup hash)"), max_length=64)
    year = models.PositiveSmallIntegerField(_("year"))
    reserved = models.DecimalField(_("reserved"), max_digits=19, decimal_places=5, default=0)
    consumed = models.DecimalField(_("consumed"), max_digits=19, decimal_places=5, default=0)

    class Meta:
        verbose_name = _("buyer's annual quota")
        verbose_name_plural = _("buyers' annual quotas")
        constraints = [
            models.UniqueConstraint(fields=["buyer_id_hash", "year"], name="quota_buyer_year_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0, consumed__gte=0), name="quota_non_negative"),
            models.CheckConstraint(
                condition=Q(reserved__lte=ANNUAL_LIMIT - F("consumed")), name="quota_within_annual_limit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.buyer_id_hash[:8]}… {self.year}"

    @property
    def used(self) -> object:
        return self.reserved + self.consumed


class QuotaReservation(models.Model):
    class State(models.TextChoices):
        RESERVED = "reserved", _("reserved")
        CONSUMED = "consumed", _("consumed")
        RELEASED = "released", _("released")

    inventory = models.OneToOneField(
        Inventory, verbose_name=_("declaration list"), on_delete=models.CASCADE, related_name="quota_reservation"
    )
    quota = models.ForeignKey(
        BuyerYearQuota, verbose_name=_("buyer's annual quota"), on_delete=models.PROTECT, related_name="reservations"
    )
    amount = models.DecimalField(_("amount"), max_digits=19, decimal_places=5)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RESERVED)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("quota reservation")
        verbose_name_plural = _("quota reservations")
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="quota_reservation_non_negative")]

    def __str__(self) -> str:
        return f"{self.inventory}: {self.amount} {self.state}"


class TaxEstimate(models.Model):
    """The single window's estimate of a list's tax, in the shape of the customs bill (CEB816)."""

    class Mode(models.TextChoices):
        WITHIN_LIMITS = "within_limits", _("within limits (duty 0, VAT and CT at 70%)")
        FULL_TAX = "full_tax", _("one-piece exception (full tax)")

    inventory = models.OneToOneField(
        Inventory, verbose_name=_("declaration list"), on_delete=models.CASCADE, related_name="tax_estimate"
    )
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices)
    dutiable_total = models.DecimalField(_("dutiable value"), max_digits=19, decimal_places=2)
    customs_tax = models.DecimalField(_("customs duty"), max_digits=19, decimal_places=2)
    value_added_tax = models.DecimalField(_("VAT"), max_digits=19, decimal_places=2)
    consumption_tax = models.DecimalField(_("consumption tax"), max_digits=19, decimal_places=2)
    tax_total = models.DecimalField(_("total"), max_digits=19, decimal_places=2)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tax estimate")
        verbose_name_plural = _("tax estimates")
        constraints = [
            # Rounded to the columns' two decimals: SQLite adds them as floating point.
            models.CheckConstraint(
                condition=Q(tax_total=Round(F("customs_tax") + F("value_added_tax") + F("consumption_tax"), 2)),
                name="tax_estimate_total_is_sum",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inventory}: {self.tax_total}"


class TaxEstimateItem(models.Model):
    estimate = models.ForeignKey(
        TaxEstimate, verbose_name=_("tax estimate"), on_delete=models.CASCADE, related_name="items"
    )
    gnum = models.IntegerField(_("item number"))
    gcode = models.CharField(_("commodity code"), max_length=10)
    dutiable_value = models.DecimalField(_("dutiable value"), max_digits=19, decimal_places=2)
    customs_tax = models.DecimalField(_("customs duty"), max_digits=19, decimal_places=2)
    value_added_tax = models.DecimalField(_("VAT"), max_digits=19, decimal_places=2)
    consumption_tax = models.DecimalField(_("consumption tax"), max_digits=19, decimal_places=2)

    class Meta:
        verbose_name = _("tax estimate item")
        verbose_name_plural = _("tax estimate items")
        ordering = ("gnum",)
        constraints = [models.UniqueConstraint(fields=["estimate", "gnum"], name="tax_estimate_item_unique")]

    def __str__(self) -> str:
        return f"{self.gnum} {self.gcode}"
