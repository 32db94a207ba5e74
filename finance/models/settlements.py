"""Settlement reconciliation: a payment company's settlement file, checked against the payments
it declared, and the report of every mismatch found.

The file itself is kept encrypted (``SettlementFile``) for ``FINANCE_SETTLEMENT_RETENTION_DAYS``
and then deleted; the report and its mismatches stay.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from finance.models.rates import RATE_DECIMAL_PLACES, RATE_MAX_DIGITS
from single_window.models import Enterprise


class SettlementFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    JSON = "json", _("JSON")


class MismatchKind(models.TextChoices):
    # A payment of the uploader in the period that the file does not name.
    MISSING = "missing", _("missing from the file")
    # The file's amount (converted to CNY at the day's rate) is not the payment's.
    AMOUNT_DIFFERS = "amount_differs", _("amount differs")
    # The file names the same transaction again.
    DUPLICATE = "duplicate", _("duplicate in the file")
    # The row names no payment of the uploader in the period (whether it exists is not said).
    UNKNOWN = "unknown", _("unknown transaction")


class SettlementReport(models.Model):
    """One uploaded settlement file, reconciled: what it covered and how it compared."""

    uploader = models.ForeignKey(
        Enterprise, verbose_name=_("payment company"), on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("Included."))
    file_format = models.CharField(_("file format"), max_length=8, choices=SettlementFormat.choices)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64)
    file_size = models.PositiveIntegerField(_("file size (bytes)"))
    # Set when the retention task deleted the file; the report stays.
    file_deleted_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)
    row_count = models.PositiveIntegerField(_("rows in the file"))
    payment_count = models.PositiveIntegerField(_("payments in the period"))
    matched_count = models.PositiveIntegerField(_("rows matched"))
    mismatch_count = models.PositiveIntegerField(_("mismatches"))
    created_at = models.DateTimeField(_("reconciled at"), auto_now_add=True)

    class Meta:
        verbose_name = _("settlement report")
        verbose_name_plural = _("settlement reports")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="settlement_period_order"
            ),
            models.CheckConstraint(
                condition=Q(file_format__in=SettlementFormat.values), name="settlement_file_format_valid"
            ),
        ]
        indexes = [
            # The uploader's reports, newest first: WHERE uploader_id = ? ORDER BY created_at DESC, id DESC.
            models.Index(fields=["uploader", "-created_at", "-id"], name="settlement_uploader_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.uploader_id} {self.period_start}..{self.period_end} #{self.pk}"


class SettlementFile(models.Model):
    """The uploaded bytes, encrypted (AES-GCM, bound to the report's id); deleted after the
    retention period by ``finance.purge_settlement_files``."""

    report = models.OneToOneField(
        SettlementReport, verbose_name=_("report"), on_delete=models.CASCADE, primary_key=True, related_name="file"
    )
    content_type = models.CharField(_("content type"), max_length=100)
    content_encrypted = models.TextField(_("content (encrypted)"))
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True, db_index=True)

    audit_excluded = ("content_encrypted",)

    class Meta:
        verbose_name = _("settlement file")
        verbose_name_plural = _("settlement files")

    def __str__(self) -> str:
        return f"settlement file of report #{self.pk}"


class SettlementMismatch(models.Model):
    """One mismatch of a report. ``line`` is the file's line (CSV) or the row's position from 1
    (JSON); none for a missing payment. ``file_*`` is what the row said, ``recorded_*`` the
    payment the single window holds (none for an unknown row: it names nothing of the uploader).
    A converted amount always has its rate and the rate's date beside it."""

    report = models.ForeignKey(
        SettlementReport, verbose_name=_("report"), on_delete=models.CASCADE, related_name="mismatches"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MismatchKind.choices)
    line = models.PositiveIntegerField(_("line"), null=True, blank=True)
    # The line the transaction first appeared on (duplicate only).
    first_line = models.PositiveIntegerField(_("first line"), null=True, blank=True)
    pay_transaction_id = models.CharField(_("pay transaction id"), max_length=60)
    order_no = models.CharField(_("order no"), max_length=60)
    # The parties of the order the payment pays (not for an unknown row).
    ebp_code = models.CharField(_("ebp code"), max_length=18, blank=True)
    ebc_code = models.CharField(_("ebc code"), max_length=18, blank=True)
    file_amount = models.DecimalField(_("amount in the file"), max_digits=19, decimal_places=5, null=True, blank=True)
    file_currency = models.CharField(_("currency in the file"), max_length=3, blank=True)
    file_amount_cny = models.DecimalField(
        _("amount in the file, CNY"), max_digits=19, decimal_places=5, null=True, blank=True
    )
    rate = models.DecimalField(
        _("rate"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES, null=True, blank=True
    )
    rate_date = models.DateField(_("rate date"), null=True, blank=True)
    recorded_amount = models.DecimalField(_("amount recorded"), max_digits=19, decimal_places=5, null=True, blank=True)
    recorded_currency = models.CharField(_("currency recorded"), max_length=3, blank=True)
    recorded_pay_time = models.DateTimeField(_("pay time recorded"), null=True, blank=True)

    class Meta:
        verbose_name = _("settlement mismatch")
        verbose_name_plural = _("settlement mismatches")
        ordering = ("report", "id")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=MismatchKind.values), name="settlement_mismatch_kind_valid"),
            # A converted amount is never stored without its rate and the rate's date.
            models.CheckConstraint(
                condition=(
                    Q(file_amount_cny__isnull=True, rate__isnull=True, rate_date__isnull=True)
                    | Q(file_amount_cny__isnull=False, rate__isnull=False, rate_date__isnull=False)
                ),
                name="settlement_mismatch_rate_with_amount",
            ),
            models.CheckConstraint(
                condition=~Q(kind="amount_differs") | Q(file_amount_cny__isnull=False, recorded_amount__isnull=False),
                name="settlement_mismatch_amounts_shown",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pay_transaction_id}"
