"""Guarantee accounts of the tax guarantors (``assure_code``) and what lists hold on them.

``amount`` is what the guarantor's bank guarantee or deposit covers; ``reserved`` is the
estimated tax of lists declared and not yet billed; ``used`` is the tax of bills issued and
not yet paid or voided. ``available = amount - reserved - used``. Every change to the three
figures is one conditional UPDATE of the account row (``finance.guarantees``), so parallel
declarations never take more than is available; each change is also written to the ledger
(``GuaranteeMovement``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise as _StrPromise


def money_field(verbose_name: str | _StrPromise, **options: Any) -> models.DecimalField[Decimal, Decimal]:
    """A CNY amount: yuan with two decimals."""
    return models.DecimalField(verbose_name, max_digits=19, decimal_places=2, **options)


class GuaranteeAccount(TimeStampedModel):
    code = models.CharField(
        _("guarantor code"),
        max_length=64,
        unique=True,
        help_text=_("The guarantor's customs code or unified social credit code, as lists name it (assureCode)."),
    )
    name = models.CharField(_("guarantor"), max_length=200)
    amount = money_field(_("guaranteed amount (CNY)"))
    reserved = money_field(_("reserved (CNY)"), default=Decimal(0))
    used = money_field(_("used (CNY)"), default=Decimal(0))
    instrument = models.CharField(
        _("instrument"), max_length=200, blank=True, help_text=_("Bank guarantee or deposit reference.")
    )
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    class Meta:
        verbose_name = _("guarantee account")
        verbose_name_plural = _("guarantee accounts")
        ordering = ("code",)
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="guarantee_amount_non_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="guarantee_reserved_non_negative"),
            models.CheckConstraint(condition=Q(used__gte=0), name="guarantee_used_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def available(self) -> Decimal:
        return self.amount - self.reserved - self.used


class GuaranteeCoverage(models.Model):
    """How much of a list's estimated tax must be covered, by the guarantor's customs class
    (credit's classes). A class without a row needs full cover (1.00)."""

    customs_class = models.CharField(_("customs class"), max_length=32, unique=True)
    ratio = models.DecimalField(_("share of the estimated tax"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("guarantee cover by customs class")
        verbose_name_plural = _("guarantee cover by customs class")
        ordering = ("ratio",)
        constraints = [models.CheckConstraint(condition=Q(ratio__gte=0), name="guarantee_coverage_non_negative")]

    def __str__(self) -> str:
        return f"{self.customs_class}: {self.ratio}"


class ReservationState(models.TextChoices):
    RESERVED = "reserved", _("reserved")
    CONSUMED = "consumed", _("released by customs, bill awaited")
    BILLED = "billed", _("billed")
    RELEASED = "released", _("given back")


class GuaranteeReservation(models.Model):
    """What one version of a list holds on its guarantor's account (one row per list version)."""

    State = ReservationState

    inventory_id = models.BigIntegerField(_("list id"))
    list_version = models.PositiveIntegerField(_("list version"))
    account = models.ForeignKey(
        GuaranteeAccount, verbose_name=_("guarantee account"), on_delete=models.PROTECT, related_name="reservations"
    )
    cop_no = models.CharField(_("list number (enterprise)"), max_length=20)
    agent_code = models.CharField(_("declaring agent"), max_length=18)
    ebc_code = models.CharField(_("e-commerce enterprise"), max_length=18)
    customs_code = models.CharField(_("customs district"), max_length=4)
    park_code = models.CharField(_("park"), max_length=16, blank=True)
    estimated_tax = money_field(_("estimated tax"))
    customs_class = models.CharField(_("guarantor's customs class"), max_length=32)
    ratio = models.DecimalField(_("cover ratio"), max_digits=5, decimal_places=2)
    amount = money_field(_("reserved amount"))
    state = models.CharField(_("state"), max_length=10, choices=ReservationState.choices)
    outcome = models.CharField(_("outcome"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("guarantee reservation")
        verbose_name_plural = _("guarantee reservations")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["inventory_id", "list_version"], name="guarantee_reservation_once"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="guarantee_reservation_non_negative"),
            models.CheckConstraint(
                condition=Q(state__in=ReservationState.values), name="guarantee_reservation_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cop_no} v{self.list_version}: {self.amount} {self.state}"


class GuaranteeShortfall(models.Model):
    """A list held because its guarantor's account could not cover it. Open until the list is
    let through or given up; a top-up of the account has its open shortfalls judged again."""

    inventory_id = models.BigIntegerField(_("list id"))
    list_version = models.PositiveIntegerField(_("list version"))
    account = models.ForeignKey(
        GuaranteeAccount,
        verbose_name=_("guarantee account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shortfalls",
    )
    assure_code = models.CharField(_("guarantor code"), max_length=64)
    cop_no = models.CharField(_("list number (enterprise)"), max_length=20)
    customs_code = models.CharField(_("customs district"), max_length=4)
    park_code = models.CharField(_("park"), max_length=16, blank=True)
    required = money_field(_("required"))
    available = models.DecimalField(_("available then"), max_digits=19, decimal_places=2)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("guarantee shortfall")
        verbose_name_plural = _("guarantee shortfalls")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["inventory_id", "list_version"], name="guarantee_shortfall_once"),
        ]

    def __str__(self) -> str:
        return f"{self.cop_no}: {self.required} > {self.available}"


class MovementKind(models.TextChoices):
    RESERVE = "reserve", _("reserved for a declared list")
    RELEASE = "release", _("reservation given back")
    BILL = "bill", _("tax bill issued")
    FREE = "free", _("bill voided or paid")
    ADJUST = "adjust", _("amount changed by a regulator")


class GuaranteeMovement(models.Model):
    """The ledger of an account: one row per change of its figures."""

    Kind = MovementKind

    account = models.ForeignKey(
        GuaranteeAccount, verbose_name=_("guarantee account"), on_delete=models.PROTECT, related_name="movements"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=MovementKind.choices)
    amount_change = money_field(_("amount change"), default=Decimal(0))
    reserved_change = money_field(_("reserved change"), default=Decimal(0))
    used_change = money_field(_("used change"), default=Decimal(0))
    inventory_id = models.BigIntegerField(_("list id"), null=True, blank=True)
    tax_no = models.CharField(_("tax bill number"), max_length=50, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("guarantee movement")
        verbose_name_plural = _("guarantee movements")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=MovementKind.values), name="guarantee_movement_kind")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind}"
