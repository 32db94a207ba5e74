"""The credit system's tables: customs classes and decisions, what credit learned (credit
events, release and return counts), the scores it computed, regulators' overrides, the
enterprises' consents to read their reports and the log of those reads.

No row copies another app's: enterprises are the hub's, and what declarations did to a list is
known here only as the credit event it taught (docs/credit.md).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from single_window.models import Enterprise

# --- Customs classes ---------------------------------------------------------------------------


class CustomsClass(models.Model):
    """A class customs grades enterprises in, with its random inspection rate.

    Data, not code: customs orders have changed the classes (Order 251, then reportedly five
    levels under Order 282), so regulators edit them in the admin. ``rank`` orders them, 1 the
    best; the ``is_default`` class applies to an enterprise with no decision on record.
    """

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True, help_text=_("1 for the best class."))
    inspection_rate = models.DecimalField(
        _("random inspection rate"), max_digits=5, decimal_places=4, help_text=_("A fraction: 0.0244 for 2.44%.")
    )
    is_default = models.BooleanField(
        _("default class"), default=False, help_text=_("The class of an enterprise with no decision on record.")
    )

    class Meta:
        verbose_name = _("customs credit class")
        verbose_name_plural = _("customs credit classes")
        ordering = ("rank",)
        constraints = [
            models.CheckConstraint(
                condition=Q(inspection_rate__gte=0) & Q(inspection_rate__lte=1), name="customs_class_rate_fraction"
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="customs_class_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_en} / {self.name_zh}"


class ClassDecisionSource(models.TextChoices):
    CUSTOMS_DECISION = "customs_decision", _("customs decision notice")
    CUSTOMS_PUBLICATION = "customs_publication", _("customs public credit list")
    REGULATOR = "regulator", _("recorded by a regulator from another source")


class CustomsClassDecision(models.Model):
    """The class customs decided for an enterprise. Kept as history: the latest decision in
    force (``effective_from`` on or before today; the later one, then the later recorded, wins)
    applies."""

    Source = ClassDecisionSource

    enterprise = models.ForeignKey(Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="+")
    customs_class = models.ForeignKey(
        CustomsClass, verbose_name=_("class"), on_delete=models.PROTECT, related_name="decisions"
    )
    source = models.CharField(_("source"), max_length=32, choices=ClassDecisionSource.choices)
    decision_reference = models.CharField(_("decision reference"), max_length=100)
    decided_on = models.DateField(_("decided on"))
    effective_from = models.DateField(_("in force from"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customs class decision")
        verbose_name_plural = _("customs class decisions")
        ordering = ("-effective_from", "-id")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "decision_reference"], name="class_decision_once"),
            models.CheckConstraint(condition=~Q(decision_reference=""), name="class_decision_has_reference"),
            models.CheckConstraint(
                condition=Q(source__in=ClassDecisionSource.values), name="class_decision_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(effective_from__gte=models.F("decided_on")), name="class_decision_effective_after_decided"
            ),
        ]
        indexes = [
            # credit.selectors.customs_class_of: the enterprise's latest decision in force
            # (WHERE enterprise_id = ? AND effective_from <= today ORDER BY effective_from DESC, id DESC).
            models.Index(fields=["enterprise", "-effective_from", "-id"], name="class_decision_latest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.customs_class_id} ({self.decision_reference})"


# --- What credit learned -------------------------------------------------------------------------


class CreditEventKind(models.TextChoices):
    # Learned from the declarations' events.
    CUSTOMS_REJECTION = "customs_rejection", _("customs rejection")
    INSPECTION_FINDING = "inspection_finding", _("inspection with findings")
    DETENTION = "detention", _("detention")
    RISK_BLOCK = "risk_block", _("blocked by risk control")
    MATCHING_FAILURE = "matching_failure", _("matching failure")
    # Learned from logistics' events once it publishes them.
    LATE_PARCEL = "late_parcel", _("late parcel")
    LOST_PARCEL = "lost_parcel", _("lost parcel")
    # Recorded by regulators.
    PENALTY = "penalty", _("penalty")
    COMMENDATION = "commendation", _("commendation")
    CERTIFICATION = "certification", _("certification")


# Kinds that lower the score (weight below 0) and kinds that raise it (above 0).
POSITIVE_KINDS = (CreditEventKind.COMMENDATION, CreditEventKind.CERTIFICATION)
NEGATIVE_KINDS = tuple(kind for kind in CreditEventKind if kind not in POSITIVE_KINDS)
# Kinds a regulator records in the admin; the others are learned from events.
REGULATOR_KINDS = (CreditEventKind.PENALTY, CreditEventKind.COMMENDATION, CreditEventKind.CERTIFICATION)
WEIGHT_LIMIT = 1000


class CreditEventSource(models.TextChoices):
    EVENT = "event", _("learned from an event")
    REGULATOR = "regulator", _("recorded by a regulator")


class CreditEvent(models.Model):
    """One thing that moves an enterprise's score, with the weight it carried when recorded.

    ``source_reference`` is what makes it count once: the event it was learned from
    (``event:5120``), the list version a risk block stopped (``inventory:81/v2``), the list a
    matching failure is about (``inventory:81``), or the decision a regulator recorded.
    """

    Kind = CreditEventKind
    Source = CreditEventSource

    enterprise = models.ForeignKey(Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=32, choices=CreditEventKind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    weight = models.IntegerField(_("weight"), help_text=_("Points at the time it occurred, before decay."))
    source = models.CharField(_("source"), max_length=16, choices=CreditEventSource.choices)
    source_reference = models.CharField(_("source reference"), max_length=120)
    source_event_id = models.PositiveBigIntegerField(_("source event id"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=100, blank=True, help_text=_("For example inventory:81."))
    details = models.JSONField(_("details"), default=dict, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    recorded_by = models.CharField(_("recorded by"), max_length=200)
    annulled_at = models.DateTimeField(_("annulled at"), null=True, blank=True)
    annul_reason = models.CharField(_("reason for annulling"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("credit event")
        verbose_name_plural = _("credit events")
        ordering = ("-occurred_at", "-id")
        constraints = [
            # The same source counts once for an enterprise, however often it is seen.
            models.UniqueConstraint(fields=["enterprise", "kind", "source_reference"], name="credit_event_once"),
            models.CheckConstraint(condition=Q(kind__in=CreditEventKind.values), name="credit_event_kind_valid"),
            models.CheckConstraint(condition=Q(source__in=CreditEventSource.values), name="credit_event_source_valid"),
            models.CheckConstraint(condition=~Q(source_reference=""), name="credit_event_has_reference"),
            models.CheckConstraint(
                condition=(Q(kind__in=NEGATIVE_KINDS) & Q(weight__lt=0) & Q(weight__gte=-WEIGHT_LIMIT))
                | (Q(kind__in=POSITIVE_KINDS) & Q(weight__gt=0) & Q(weight__lte=WEIGHT_LIMIT)),
                name="credit_event_weight_sign",
            ),
            models.CheckConstraint(
                condition=(Q(annulled_at__isnull=True) & Q(annul_reason=""))
                | (Q(annulled_at__isnull=False) & ~Q(annul_reason="")),
                name="credit_event_annulled_with_reason",
            ),
        ]
        indexes = [
            # The score's computation: WHERE enterprise_id = ? AND occurred_at >= horizon.
            models.Index(fields=["enterprise", "occurred_at"], name="credit_event_enterprise_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.kind} {self.weight:+d} ({self.source_reference})"


class CreditVolume(models.Model):
    """Lists of an enterprise released and returned, per day (China Standard Time): the
    returns rate's numerator and denominator, counted rather than stored per list.

    Events are counted in id order, so ``last_event_id`` makes counting idempotent: an event
    at or below it was counted already.
    """

    enterprise = models.ForeignKey(Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))
    released = models.PositiveIntegerField(_("lists released"), default=0)
    returned = models.PositiveIntegerField(_("lists returned"), default=0)
    last_event_id = models.PositiveBigIntegerField(_("last event counted"), default=0)

    class Meta:
        verbose_name = _("release and return count")
        verbose_name_plural = _("release and return counts")
        ordering = ("-day",)
        constraints = [
            # Also the index of the score's computation: WHERE enterprise_id = ? AND day >= horizon.
            models.UniqueConstraint(fields=["enterprise", "day"], name="credit_volume_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.day}: {self.released} released, {self.returned} returned"


# --- Scores ----------------------------------------------------------------------------------------


class Grade(models.TextChoices):
    AAA = "AAA", "AAA"
    AA = "AA", "AA"
    A = "A", "A"
    BBB = "BBB", "BBB"
    BB = "BB", "BB"


class ScoreTrigger(models.TextChoices):
    EVENT = "event", _("a credit event")
    NIGHTLY = "nightly", _("nightly recomputation")
    REGULATOR = "regulator", _("a regulator's entry")
    MANUAL = "manual", _("recomputed on request")


SCORE_MAX = 1000


class CreditProfile(models.Model):
    """An enterprise's current score and grade: the latest of its ``CreditScore`` history."""

    enterprise = models.OneToOneField(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="+"
    )
    score = models.PositiveSmallIntegerField(_("score"))
    grade = models.CharField(_("grade"), max_length=3, choices=Grade.choices)
    computed_at = models.DateTimeField(_("computed at"))
    explanation = models.JSONField(_("explanation"), default=dict)

    class Meta:
        verbose_name = _("credit profile")
        verbose_name_plural = _("credit profiles")
        ordering = ("enterprise_id",)
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=SCORE_MAX), name="credit_profile_score_range"),
            models.CheckConstraint(condition=Q(grade__in=Grade.values), name="credit_profile_grade_valid"),
        ]
        indexes = [
            # The nightly sweep: WHERE computed_at < start of today ORDER BY id.
            models.Index(fields=["computed_at"], name="credit_profile_computed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.score} {self.grade}"


class CreditScore(models.Model):
    """A computed score, kept as history: how the score moved, and why (``explanation``: the
    contribution of each kind of credit event)."""

    Trigger = ScoreTrigger

    enterprise = models.ForeignKey(Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(_("score"))
    grade = models.CharField(_("grade"), max_length=3, choices=Grade.choices)
    computed_at = models.DateTimeField(_("computed at"))
    explanation = models.JSONField(_("explanation"), default=dict)
    trigger = models.CharField(_("trigger"), max_length=16, choices=ScoreTrigger.choices)
    credit_event = models.ForeignKey(
        CreditEvent,
        verbose_name=_("credit event"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("credit score")
        verbose_name_plural = _("credit score history")
        ordering = ("-computed_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=SCORE_MAX), name="credit_score_range"),
            models.CheckConstraint(condition=Q(grade__in=Grade.values), name="credit_score_grade_valid"),
            models.CheckConstraint(condition=Q(trigger__in=ScoreTrigger.values), name="credit_score_trigger_valid"),
        ]
        indexes = [
            # An enterprise's history, newest first (the admin's profile page).
            models.Index(fields=["enterprise", "-computed_at", "-id"], name="credit_score_history_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.score} {self.grade} ({self.computed_at:%Y-%m-%d %H:%M})"


class CreditGradeOverride(models.Model):
    """A regulator sets an enterprise's grade by hand, with a reason, until lifted. The score
    is still computed; the grade shown is the override's while it stands."""

    enterprise = models.ForeignKey(Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="+")
    grade = models.CharField(_("grade"), max_length=3, choices=Grade.choices)
    reason = models.CharField(_("reason"), max_length=500)
    set_at = models.DateTimeField(_("set at"), auto_now_add=True)
    set_by = models.CharField(_("set by"), max_length=200)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lift_reason = models.CharField(_("reason for lifting"), max_length=500, blank=True)
    lifted_by = models.CharField(_("lifted by"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("grade override")
        verbose_name_plural = _("grade overrides")
        ordering = ("-set_at", "-id")
        constraints = [
            # Also the index of "the override in force": WHERE enterprise_id = ? AND lifted_at IS NULL.
            models.UniqueConstraint(
                fields=["enterprise"], condition=Q(lifted_at__isnull=True), name="grade_override_one_in_force"
            ),
            models.CheckConstraint(condition=Q(grade__in=Grade.values), name="grade_override_grade_valid"),
            models.CheckConstraint(condition=~Q(reason=""), name="grade_override_has_reason"),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | ~Q(lift_reason=""), name="grade_override_lifted_with_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.grade}"


# --- Consents and reads of reports ---------------------------------------------------------------------


class ConsentPurpose(models.TextChoices):
    # A financial institution reads the enterprise's credit report (GET /api/v1/credit/enterprises/{code}).
    CREDIT_REPORT = "credit_report", _("read the credit report")
    # A financial institution finances the enterprise's trade on its record (the finance system).
    TRADE_FINANCING = "trade_financing", _("trade financing")


class ConsentStatus(models.TextChoices):
    IN_FORCE = "in_force", _("in force")
    EXPIRED = "expired", _("expired")
    REVOKED = "revoked", _("revoked")


class CreditConsent(models.Model):
    """An enterprise lets a financial institution use its credit for one purpose until
    ``expires_at``. ``ended_at`` is set when it is revoked (before expiring), or when it is
    granted again after expiring (then it is its expiry): one consent per grantor, grantee and
    purpose is open at a time."""

    Purpose = ConsentPurpose

    grantor = models.ForeignKey(Enterprise, verbose_name=_("granted by"), on_delete=models.PROTECT, related_name="+")
    grantee = models.ForeignKey(Enterprise, verbose_name=_("granted to"), on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(_("purpose"), max_length=32, choices=ConsentPurpose.choices)
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    granted_by = models.CharField(_("granted by (actor)"), max_length=200)

    class Meta:
        verbose_name = _("credit consent")
        verbose_name_plural = _("credit consents")
        ordering = ("-granted_at", "-id")
        constraints = [
            # Also the index of every read: WHERE grantor_id = ? AND grantee_id = ? AND purpose = ?
            # AND ended_at IS NULL (then expires_at > now).
            models.UniqueConstraint(
                fields=["grantor", "grantee", "purpose"], condition=Q(ended_at__isnull=True), name="consent_one_open"
            ),
            models.CheckConstraint(condition=~Q(grantor=models.F("grantee")), name="consent_not_to_self"),
            models.CheckConstraint(condition=Q(purpose__in=ConsentPurpose.values), name="consent_purpose_valid"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("granted_at")), name="consent_expires_after"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("granted_at")),
                name="consent_ended_after_granted",
            ),
        ]
        indexes = [
            # The grantor's list, newest first.
            models.Index(fields=["grantor", "-granted_at", "-id"], name="consent_grantor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.grantor_id} → {self.grantee_id}: {self.purpose}"

    @property
    def revoked_at(self) -> datetime.datetime | None:
        """When it was revoked; None if it never was (an expiry is not a revocation)."""
        return self.ended_at if self.ended_at is not None and self.ended_at < self.expires_at else None

    def status_at(self, moment: datetime.datetime) -> str:
        if self.revoked_at is not None:
            return ConsentStatus.REVOKED
        if self.ended_at is None and self.expires_at > moment:
            return ConsentStatus.IN_FORCE
        return ConsentStatus.EXPIRED


class CreditReportRead(models.Model):
    """A read of an enterprise's credit report by someone else: a financial institution under a
    consent, or a regulator. The enterprise sees its own log."""

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise read"), on_delete=models.PROTECT, related_name="+"
    )
    reader_enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("reading enterprise"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reader_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reading regulator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    consent = models.ForeignKey(
        CreditConsent, verbose_name=_("consent"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    read_at = models.DateTimeField(_("read at"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit report read")
        verbose_name_plural = _("credit report reads")
        ordering = ("-read_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=(Q(reader_enterprise__isnull=False) & Q(reader_user__isnull=True) & Q(consent__isnull=False))
                | (Q(reader_enterprise__isnull=True) & Q(reader_user__isnull=False) & Q(consent__isnull=True)),
                name="credit_read_one_reader",
            ),
        ]
        indexes = [
            # The enterprise's access log, newest first.
            models.Index(fields=["enterprise", "-read_at", "-id"], name="credit_read_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} read at {self.read_at:%Y-%m-%d %H:%M}"
