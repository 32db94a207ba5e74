"""Export proceeds: what each released export list is worth, in its currency and in CNY."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from finance.models.rates import RATE_DECIMAL_PLACES, RATE_MAX_DIGITS


class ExportProceeds(models.Model):
    """The goods value of one released export list in one currency, converted to CNY at
    finance's rate of the release day (``finance.rates.convert``).

    Written once, from the list's release event (``export_list.status_changed`` to
    ``released``); nothing of it changes afterwards except the conversion of a row stored
    without a rate (``awaiting_rate``), filled once when a rate that may stand for its day is
    stored. Finance never reads the list itself: the row keeps the keys the event named.
    """

    # The declarations' id of the list (no foreign key: finance never imports declarations).
    export_list_id = models.BigIntegerField(_("export list id"))
    # The list's business key: the declaring agent's code and its own number for the list.
    agent_code = models.CharField(_("agent code"), max_length=18)
    cop_no = models.CharField(_("cop no"), max_length=30)
    invt_no = models.CharField(_("invt no"), max_length=20, blank=True)
    # The seller (e-commerce enterprise) the proceeds are owed to.
    ebc_code = models.CharField(_("ebc code"), max_length=18)
    trade_mode = models.CharField(_("trade mode"), max_length=4, blank=True)
    released_on = models.DateField(_("released on"), help_text=_("The day of release, China Standard Time."))
    currency = models.CharField(_("currency"), max_length=3)
    amount = models.DecimalField(_("amount"), max_digits=19, decimal_places=5)
    rate = models.DecimalField(
        _("rate"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES, null=True, blank=True
    )
    rate_date = models.DateField(_("rate date"), null=True, blank=True)
    amount_cny = models.DecimalField(_("amount (CNY)"), max_digits=19, decimal_places=2, null=True, blank=True)
    # The event the row was learned from (the first copy handled).
    source_event_id = models.BigIntegerField(_("source event id"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export proceeds")
        verbose_name_plural = _("export proceeds")
        ordering = ("-released_on", "-id")
        constraints = [
            # Once per list and currency, however often the release is told.
            models.UniqueConstraint(fields=["export_list_id", "currency"], name="export_proceeds_list_currency"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="export_proceeds_amount_non_negative"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[0-9]{3}$"), name="export_proceeds_currency_code"),
            # Converted: the CNY amount with its rate and the rate's date; awaiting: none of them.
            models.CheckConstraint(
                condition=(
                    Q(amount_cny__isnull=True, rate__isnull=True, rate_date__isnull=True, converted_at__isnull=True)
                    | Q(
                        amount_cny__isnull=False,
                        amount_cny__gte=0,
                        rate__gt=0,
                        rate_date__lte=models.F("released_on"),
                        converted_at__isnull=False,
                    )
                ),
                name="export_proceeds_converted_with_rate",
            ),
        ]
        indexes = [
            # The seller's figures: WHERE ebc_code IN (...) AND released_on BETWEEN ? AND ?
            models.Index(fields=["ebc_code", "released_on"], name="export_proceeds_ebc_idx"),
            # The sweep: rows still waiting for a rate.
            models.Index(
                fields=["currency", "released_on"],
                condition=Q(amount_cny__isnull=True),
                name="export_proceeds_await_idx",
            ),
            models.Index(fields=["agent_code", "cop_no"], name="export_proceeds_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_code}/{self.cop_no} {self.currency} {self.amount}"

    @property
    def awaiting_rate(self) -> bool:
        return self.amount_cny is None
