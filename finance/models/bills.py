"""Customs' electronic tax bills (CEB816) and their status changes (CEB818).

A bill names its list by customs' number (``invt_no``); the list it belongs to is found
through the hub (``single_window.declare.list_by_customs_number``) and kept here as plain ids
(``inventory_id``, ``list_version``): finance owns no list. A bill that arrives before its list
has that number is kept unlinked and attached when the number is known.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _


class TaxBillStatus(models.TextChoices):
    """税单状态 (message specification 2022-05, 3.17.4)."""

    GENERATED = "1", _("generated")
    SUMMARISED = "2", _("summarised")
    VOID = "3", _("void")


class GuaranteeEffect(models.TextChoices):
    """What the bill did to its guarantor's account."""

    NONE = "none", _("none (no guarantee account)")
    USED = "used", _("used")
    FREED = "freed", _("freed")


class TaxBill(models.Model):
    Status = TaxBillStatus

    tax_no = models.CharField(_("tax bill number"), max_length=50, unique=True)
    invt_no = models.CharField(_("list number (customs)"), max_length=18, db_index=True)
    # The list, once found by its customs number (no foreign key: the list is another app's).
    inventory_id = models.BigIntegerField(_("list id"), null=True, blank=True, db_index=True)
    list_version = models.PositiveIntegerField(_("list version"), null=True, blank=True)
    cop_no = models.CharField(_("list number (enterprise)"), max_length=20, blank=True)
    assure_code = models.CharField(_("guarantor"), max_length=64, blank=True, db_index=True)
    ebc_code = models.CharField(_("e-commerce enterprise"), max_length=64, blank=True)
    ebp_code = models.CharField(_("e-commerce platform"), max_length=64, blank=True)
    agent_code = models.CharField(_("declaring agent"), max_length=18, blank=True)
    logistics_code = models.CharField(_("logistics enterprise"), max_length=64, blank=True)
    customs_code = models.CharField(_("customs district"), max_length=4, blank=True)
    order_no = models.CharField(_("order number"), max_length=60, blank=True)
    logistics_no = models.CharField(_("waybill number"), max_length=60, blank=True)
    status = models.CharField(_("status"), max_length=1, choices=TaxBillStatus.choices)
    ent_duty_no = models.CharField(_("payment notice number"), max_length=50, blank=True)
    customs_tax = models.DecimalField(_("customs duty"), max_digits=19, decimal_places=5)
    value_added_tax = models.DecimalField(_("VAT"), max_digits=19, decimal_places=5)
    consumption_tax = models.DecimalField(_("consumption tax"), max_digits=19, decimal_places=5)
    tax_total = models.DecimalField(_("total"), max_digits=19, decimal_places=5)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    issued_at = models.DateTimeField(_("issued at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    # The single window's estimate when the bill arrived (CNY, two decimals); null without one.
    estimated_customs_tax = models.DecimalField(
        _("estimated customs duty"), max_digits=19, decimal_places=2, null=True, blank=True
    )
    estimated_value_added_tax = models.DecimalField(
        _("estimated VAT"), max_digits=19, decimal_places=2, null=True, blank=True
    )
    estimated_consumption_tax = models.DecimalField(
        _("estimated consumption tax"), max_digits=19, decimal_places=2, null=True, blank=True
    )
    estimated_total = models.DecimalField(_("estimated total"), max_digits=19, decimal_places=2, null=True, blank=True)
    # Each component, and each item, where bill and estimate differ:
    # {"value_added_tax": {"estimate": "37.13", "bill": "37.20"}, "items": {"1": {...}}}.
    differences = models.JSONField(_("differences from the estimate"), default=dict, blank=True)
    # What the bill put on its guarantor's account, and whether that was given back.
    guarantee_code = models.CharField(_("guarantee account"), max_length=64, blank=True)
    guarantee_amount = models.DecimalField(
        _("amount on the guarantee"), max_digits=19, decimal_places=2, default=Decimal(0)
    )
    guarantee_effect = models.CharField(
        _("effect on the guarantee"), max_length=8, choices=GuaranteeEffect.choices, default=GuaranteeEffect.NONE
    )

    class Meta:
        verbose_name = _("customs tax bill")
        verbose_name_plural = _("customs tax bills")
        ordering = ("-issued_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TaxBillStatus.values), name="tax_bill_status_valid"),
            # Rounded to the columns' five decimals: SQLite adds them as floating point.
            models.CheckConstraint(
                condition=Q(tax_total=Round(F("customs_tax") + F("value_added_tax") + F("consumption_tax"), 5)),
                name="tax_bill_total_is_sum",
            ),
            models.CheckConstraint(condition=Q(guarantee_amount__gte=0), name="tax_bill_guarantee_non_negative"),
            models.CheckConstraint(
                condition=Q(inventory_id__isnull=True) | Q(list_version__isnull=False),
                name="tax_bill_linked_with_version",
            ),
        ]
        indexes = [models.Index(fields=["assure_code", "issued_at"], name="tax_bill_assure_issued")]

    def __str__(self) -> str:
        return self.tax_no

    @property
    def differs(self) -> bool:
        return bool(self.differences)


class TaxBillItem(models.Model):
    bill = models.ForeignKey(TaxBill, on_delete=models.CASCADE, related_name="items")
    gnum = models.PositiveIntegerField(_("item number"))
    gcode = models.CharField(_("HS code"), max_length=10)
    tax_price = models.DecimalField(_("dutiable value"), max_digits=19, decimal_places=5)
    customs_tax = models.DecimalField(_("customs duty"), max_digits=19, decimal_places=5)
    value_added_tax = models.DecimalField(_("VAT"), max_digits=19, decimal_places=5)
    consumption_tax = models.DecimalField(_("consumption tax"), max_digits=19, decimal_places=5)

    class Meta:
        verbose_name = _("tax bill item")
        verbose_name_plural = _("tax bill items")
        ordering = ("bill", "gnum")
        constraints = [models.UniqueConstraint(fields=["bill", "gnum"], name="tax_bill_item_unique")]

    def __str__(self) -> str:
        return f"{self.bill_id} {self.gnum} {self.gcode}"


class TaxBillStatusChange(models.Model):
    """One status of a bill as customs sent it: the CEB816 that issued it, or a CEB818.

    A CEB818 for a bill not yet received is kept (``bill`` null) and applied when it arrives.
    """

    tax_no = models.CharField(_("tax bill number"), max_length=50, db_index=True)
    bill = models.ForeignKey(
        TaxBill, verbose_name=_("tax bill"), null=True, blank=True, on_delete=models.CASCADE, related_name="changes"
    )
    message_guid = models.CharField(_("message"), max_length=64)
    status = models.CharField(_("status"), max_length=1, choices=TaxBillStatus.choices)
    ent_duty_no = models.CharField(_("payment notice number"), max_length=50, blank=True)
    occurred_at = models.DateTimeField(_("customs time"))
    applied = models.BooleanField(_("applied"), default=False)
    note = models.CharField(_("note"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tax bill status change")
        verbose_name_plural = _("tax bill status changes")
        ordering = ("occurred_at", "id")
        constraints = [
            # A message delivered again changes nothing twice.
            models.UniqueConstraint(fields=["tax_no", "message_guid"], name="tax_bill_change_once"),
            models.CheckConstraint(condition=Q(status__in=TaxBillStatus.values), name="tax_bill_change_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.tax_no}: {self.status}"
