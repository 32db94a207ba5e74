"""Customs reference data: the positive list, the tax rate table and the code tables.

Seeded with a sample (``source = "sample"``); regulators edit it in the admin and import
the official tables from CSV with ``manage.py import_reference``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ReferenceSource(models.TextChoices):
    SAMPLE = "sample", _("sample (not official)")
    OFFICIAL = "official", _("official import")


class PositiveListEntry(models.Model):
    """A tariff line (8 digits) on the retail import positive list."""

    tariff_line = models.CharField(_("tariff line"), max_length=8, unique=True)
    name = models.CharField(_("name"), max_length=300)
    remark = models.CharField(_("remark"), max_length=500, blank=True)
    bonded_only = models.BooleanField(_("bonded import (1210) only"), default=False)
    source = models.CharField(
        _("source"), max_length=16, choices=ReferenceSource.choices, default=ReferenceSource.SAMPLE
    )

    class Meta:
        verbose_name = _("positive list entry")
        verbose_name_plural = _("positive list")
        ordering = ("tariff_line",)
        constraints = [
            models.CheckConstraint(condition=Q(tariff_line__regex=r"^[0-9]{8}$"), name="positive_list_line_8_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.tariff_line} {self.name}"


class TaxRate(models.Model):
    """Rates of one tariff line: a 10-digit goods code, or 8 digits for the whole line.

    Consumption tax may be ad valorem (``ct_rate``), per unit (``ct_amount_per_unit`` for
    each ``ct_unit``), both (compound), and may apply only above a unit price.
    """

    tariff_line = models.CharField(_("tariff line"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=300)
    duty_rate = models.DecimalField(_("customs duty rate"), max_digits=7, decimal_places=4, default=0)
    vat_rate = models.DecimalField(_("VAT rate"), max_digits=7, decimal_places=4, default="0.13")
    ct_rate = models.DecimalField(_("consumption tax rate"), max_digits=7, decimal_places=4, default=0)
    ct_amount_per_unit = models.DecimalField(_("consumption tax per unit"), max_digits=19, decimal_places=5, default=0)
    ct_unit = models.CharField(_("unit of the per-unit tax"), max_length=3, blank=True)
    ct_threshold_unit_price = models.DecimalField(
        _("consumption tax only above unit price"), max_digits=19, decimal_places=5, null=True, blank=True
    )
    # The unit the threshold price is per (020 slice: 15 CNY a mask); empty: the legal first unit.
    ct_threshold_unit = models.CharField(_("unit of the threshold price"), max_length=3, blank=True)
    # The line's legal first unit (035 kilogram for creams): a list's unit1 must be it, or the
    # threshold would be judged per gram instead of per kilogram. Empty: not checked.
    legal_unit1 = models.CharField(_("legal first unit"), max_length=3, blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=ReferenceSource.choices, default=ReferenceSource.SAMPLE
    )

    class Meta:
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")
        ordering = ("tariff_line",)
        constraints = [
            models.CheckConstraint(
                condition=Q(tariff_line__regex=r"^[0-9]{8}([0-9]{2})?$"), name="tax_rate_line_format"
            ),
            models.CheckConstraint(
                condition=Q(
                    duty_rate__gte=0, duty_rate__lt=1, vat_rate__gte=0, vat_rate__lt=1, ct_rate__gte=0, ct_rate__lt=1
                ),
                name="tax_rate_fractions",
            ),
            models.CheckConstraint(condition=Q(ct_amount_per_unit__gte=0), name="tax_rate_ct_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.tariff_line} {self.name}"


class CountryCode(models.Model):
    """Customs country code (JGS-20, 3 digits; not ISO)."""

    code = models.CharField(_("code"), max_length=3, primary_key=True)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    source = models.CharField(
        _("source"), max_length=16, choices=ReferenceSource.choices, default=ReferenceSource.SAMPLE
    )

    class Meta:
        verbose_name = _("country code")
        verbose_name_plural = _("country codes")
        ordering = ("code",)
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{3}$"), name="country_code_3_digits")]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class UnitCode(models.Model):
    """Customs unit of measure (3 digits: 007 piece, 035 kilogram)."""

    code = models.CharField(_("code"), max_length=3, primary_key=True)
    name_zh = models.CharField(_("Chinese name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=50)
    source = models.CharField(
        _("source"), max_length=16, choices=ReferenceSource.choices, default=ReferenceSource.SAMPLE
    )

    class Meta:
        verbose_name = _("unit code")
        verbose_name_plural = _("unit codes")
        ordering = ("code",)
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{3}$"), name="unit_code_3_digits")]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"
