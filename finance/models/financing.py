"""Trade financing: an enterprise asks a financial institution (role ``finance``) to finance
its trade, and the institution decides on the enterprise's record (docs/finance.md).

An application moves once: ``submitted`` to ``approved`` or ``rejected`` (the institution's
decision) or ``withdrawn`` (the applicant). Each move is audited (``finance.financing``); each
read of the applicant's record by the institution is a ``FinancingRecordRead``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from finance.models.guarantees import money_field
from single_window.models import Enterprise

# The longest term an application may ask for, in months.
LONGEST_TERM_MONTHS = 60


class FinancingState(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")


class FinancingApplication(TimeStampedModel):
    State = FinancingState

    applicant = models.ForeignKey(Enterprise, verbose_name=_("applicant"), on_delete=models.PROTECT, related_name="+")
    institution = models.ForeignKey(
        Enterprise, verbose_name=_("financial institution"), on_delete=models.PROTECT, related_name="+"
    )
    amount = money_field(_("amount requested (CNY)"))
    term_months = models.PositiveSmallIntegerField(_("term (months)"))
    purpose = models.CharField(_("purpose"), max_length=1000)
    state = models.CharField(
        _("state"), max_length=10, choices=FinancingState.choices, default=FinancingState.SUBMITTED
    )
    # The institution's decision: an amount and a rate when approved, a reason when rejected.
    approved_amount = money_field(_("amount approved (CNY)"), null=True, blank=True)
    annual_rate = models.DecimalField(
        _("annual rate"), max_digits=6, decimal_places=5, null=True, blank=True, help_text=_("0.0435 is 4.35%.")
    )
    decision_reason = models.CharField(_("reason"), max_length=500, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        Enterprise,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("financing application")
        verbose_name_plural = _("financing applications")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="financing_amount_positive"),
            models.CheckConstraint(
                condition=Q(term_months__gte=1) & Q(term_months__lte=LONGEST_TERM_MONTHS), name="financing_term_range"
            ),
            models.CheckConstraint(condition=Q(state__in=FinancingState.values), name="financing_state_valid"),
            models.CheckConstraint(condition=~Q(applicant=F("institution")), name="financing_not_to_self"),
            # Approved: an amount no larger than asked, a rate, when and by the institution.
            models.CheckConstraint(
                condition=~Q(state=FinancingState.APPROVED)
                | (
                    Q(approved_amount__gt=0)
                    & Q(approved_amount__lte=F("amount"))
                    & Q(annual_rate__gte=0)
                    & Q(annual_rate__lt=1)
                    & Q(decided_at__isnull=False)
                    & Q(decided_by=F("institution"))
                ),
                name="financing_approved_has_decision",
            ),
            # Rejected: a reason, when and by the institution; no amount or rate.
            models.CheckConstraint(
                condition=~Q(state=FinancingState.REJECTED)
                | (
                    ~Q(decision_reason="")
                    & Q(approved_amount__isnull=True)
                    & Q(annual_rate__isnull=True)
                    & Q(decided_at__isnull=False)
                    & Q(decided_by=F("institution"))
                ),
                name="financing_rejected_has_decision",
            ),
            # Submitted or withdrawn: nobody decided anything.
            models.CheckConstraint(
                condition=~Q(state__in=[FinancingState.SUBMITTED, FinancingState.WITHDRAWN])
                | (
                    Q(approved_amount__isnull=True)
                    & Q(annual_rate__isnull=True)
                    & Q(decision_reason="")
                    & Q(decided_at__isnull=True)
                    & Q(decided_by__isnull=True)
                ),
                name="financing_undecided_has_no_decision",
            ),
        ]
        indexes = [
            # The applicant's list, newest first: WHERE applicant_id = ? ORDER BY created_at DESC, id DESC.
            models.Index(fields=["applicant", "-created_at", "-id"], name="financing_applicant_idx"),
            # The institution's list, newest first: WHERE institution_id = ? ORDER BY created_at DESC, id DESC.
            models.Index(fields=["institution", "-created_at", "-id"], name="financing_institution_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.applicant_id} → {self.institution_id}: {self.amount} ({self.state})"


class FinancingRecordRead(models.Model):
    """A read of an applicant's record (credit summary and trade figures) by the institution
    its application is addressed to, under the applicant's ``trade_financing`` consent."""

    application = models.ForeignKey(
        FinancingApplication, verbose_name=_("application"), on_delete=models.PROTECT, related_name="record_reads"
    )
    institution = models.ForeignKey(
        Enterprise, verbose_name=_("financial institution"), on_delete=models.PROTECT, related_name="+"
    )
    # Credit's consent (credit.CreditConsent); an id, not a foreign key: the consent is credit's row.
    consent_id = models.BigIntegerField(_("consent id"))
    read_at = models.DateTimeField(_("read at"), auto_now_add=True)

    class Meta:
        verbose_name = _("financing record read")
        verbose_name_plural = _("financing record reads")
        ordering = ("-read_at", "-id")
        indexes = [
            # The reads of one application, newest first (the admin's application page).
            models.Index(fields=["application", "-read_at", "-id"], name="financing_read_app_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.application_id} read by {self.institution_id} at {self.read_at:%Y-%m-%d %H:%M}"
