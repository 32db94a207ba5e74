"""The daily exchange rate table: CNY per unit of each foreign currency, by date."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from finance.currencies import RATE_CURRENCY_CHOICES

# Rates of the currencies settled here run from about 0.005 (KRW) to about 10 (GBP): eight
# decimals keep four significant digits of the smallest, ten integer digits leave room.
RATE_MAX_DIGITS = 18
RATE_DECIMAL_PLACES = 8


class ExchangeRate(models.Model):
    """The rate of ``currency`` on ``rate_date``: how many CNY one unit buys.

    Kept by regulators in the admin and imported with ``manage.py import_reference
    exchange-rates``; nationwide (one table for the country). CNY (142) has no row: it converts
    at 1. Every amount converted with a rate is stored with that rate and its date beside it.
    """

    currency = models.CharField(_("currency"), max_length=3, choices=RATE_CURRENCY_CHOICES)
    rate_date = models.DateField(_("rate date"))
    rate = models.DecimalField(
        _("rate"),
        max_digits=RATE_MAX_DIGITS,
        decimal_places=RATE_DECIMAL_PLACES,
        help_text=_("CNY per 1 unit of the currency."),
    )
    source = models.CharField(_("source"), max_length=100, blank=True, help_text=_("Who published the rate."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ("-rate_date", "currency")
        constraints = [
            # One rate per currency and day. Its index also serves conversion: WHERE currency = ?
            # AND rate_date BETWEEN ? AND ? ORDER BY rate_date DESC LIMIT 1.
            models.UniqueConstraint(fields=["currency", "rate_date"], name="exchange_rate_currency_date"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[0-9]{3}$") & ~Q(currency="142"), name="exchange_rate_currency_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate_date}: {self.rate}"
