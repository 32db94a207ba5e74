"""The credit system's writes. Each service owns its transaction and writes its audit entry in it.

- credit events (learned from events, or recorded by regulators) and the daily release and
  return counts, each recomputing the score it moves;
- the score's computation and history, nightly for decay;
- regulators' overrides of the grade;
- consents, and the report read under them (logged).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import errors
from core.audit import Actor, audit_record, snapshot
from core.errors import Conflict, FieldError, InvalidInput, NotFoundError
from core.models import AuditEntry
from core.services import model_update
from core.times import china_time
from credit import codes, scoring, selectors
from credit.models import (
    REGULATOR_KINDS,
    ConsentPurpose,
    CreditConsent,
    CreditEvent,
    CreditEventSource,
    CreditGradeOverride,
    CreditProfile,
    CreditReportRead,
    CreditScore,
    CreditVolume,
    Grade,
    ScoreTrigger,
)
from single_window.models import Enterprise, Role

# A consent lasts at most this long; the enterprise grants it again to go on.
CONSENT_LONGEST = datetime.timedelta(days=365)

# --- Scores ---------------------------------------------------------------------------------------------


def _locked_profile(enterprise_id: int, now: datetime.datetime) -> tuple[CreditProfile, bool]:
    """The enterprise's profile row, locked until commit; made (at the base score) if missing."""
    profile = CreditProfile.objects.select_for_update().filter(enterprise_id=enterprise_id).first()
    if profile is not None:
        return profile, False
    base = scoring.BASE_SCORE
    try:
        with transaction.atomic():
            CreditProfile.objects.create(
                enterprise_id=enterprise_id, score=base, grade=scoring.grade_of(base), computed_at=now
            )
    except IntegrityError:
        pass  # made by another transaction meanwhile (the insert waited for it to commit)
    return CreditProfile.objects.select_for_update().get(enterprise_id=enterprise_id), True


def credit_score_recompute(
    *,
    enterprise_id: int,
    trigger: str,
    credit_event: CreditEvent | None = None,
    now: datetime.datetime | None = None,
) -> CreditProfile:
    """Compute the enterprise's score from what credit recorded, and keep it.

    1. Lock the enterprise's profile (made on first use), so two computations of one
       enterprise run one after the other and the later one sees the other's events.
    2. Read its credit events (not annulled) and daily counts within the horizon, and compute.
    3. Update the profile, and add a ``CreditScore`` to the history when the score or grade
       moved, or when a credit event or a regulator caused the computation (the history then
       shows why). A nightly run that moved nothing leaves no row.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # 1.
        profile, created = _locked_profile(enterprise_id, now)
        # 2.
        since = scoring.horizon(now)
        events = [
            scoring.Recorded(kind=kind, weight=weight, occurred_at=occurred_at)
            for kind, weight, occurred_at in CreditEvent.objects.filter(
                enterprise_id=enterprise_id, occurred_at__gte=since, annulled_at__isnull=True
            ).values_list("kind", "weight", "occurred_at")
        ]
        counts = [
            scoring.DayCount(day=day, released=released, returned=returned)
            for day, released, returned in CreditVolume.objects.filter(
                enterprise_id=enterprise_id, day__gte=china_time(since).date()
            ).values_list("day", "released", "returned")
        ]
        result = scoring.compute(events=events, counts=counts, now=now)
        # 3.
        moved = created or (profile.score, profile.grade) != (result.score, result.grade)
        profile.score, profile.grade = result.score, result.grade
        profile.computed_at, profile.explanation = now, result.explanation()
        profile.save(update_fields=["score", "grade", "computed_at", "explanation"])
        if moved or trigger != ScoreTrigger.NIGHTLY:
            CreditScore.objects.create(
                enterprise_id=enterprise_id,
                score=result.score,
                grade=result.grade,
                computed_at=now,
                explanation=profile.explanation,
                trigger=trigger,
                credit_event=credit_event,
            )
        return profile


def credit_profiles_recompute_due(*, limit: int, now: datetime.datetime | None = None) -> int:
    """Recompute up to ``limit`` profiles not computed since the day began (China Standard
    Time), and make the profiles of active enterprises that have none. Returns how many were
    computed; 0 when the day's work is done. Each enterprise in a transaction of its own.
    """
    now = now or timezone.now()
    day_start = china_time(now).replace(hour=0, minute=0, second=0, microsecond=0)
    due = list(
        CreditProfile.objects.filter(computed_at__lt=day_start)
        .order_by("id")
        .values_list("enterprise_id", flat=True)[:limit]
    )
    if len(due) < limit:
        has_profile = CreditProfile.objects.filter(enterprise_id=OuterRef("pk"))
        due += list(
            Enterprise.objects.filter(status=Enterprise.Status.ACTIVE)
            .filter(~Exists(has_profile))
            .order_by("id")
            .values_list("id", flat=True)[: limit - len(due)]
        )
    for enterprise_id in due:
        credit_score_recompute(enterprise_id=enterprise_id, trigger=ScoreTrigger.NIGHTLY, now=now)
    return len(due)


# --- Credit events -------------------------------------------------------------------------------------


def credit_event_learn(
    *,
    enterprise: Enterprise,
    kind: str,
    occurred_at: datetime.datetime,
    source_reference: str,
    source_event_id: int | None,
    subject: str,
    details: dict[str, Any],
) -> CreditEvent | None:
    """Record what credit learned from an event, at its kind's weight, and recompute the score.

    Returns None when the same source was counted before for the enterprise (the unique
    ``(enterprise, kind, source_reference)``): learning twice changes nothing.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = CreditEvent.objects.create(
                    enterprise=enterprise,
                    kind=kind,
                    occurred_at=occurred_at,
                    weight=scoring.RULES[kind].weight,
                    source=CreditEventSource.EVENT,
                    source_reference=source_reference,
                    source_event_id=source_event_id,
                    subject=subject[:100],
                    details=details,
                    recorded_by="system:credit",
                )
        except IntegrityError:
            return None
        credit_score_recompute(enterprise_id=enterprise.pk, trigger=ScoreTrigger.EVENT, credit_event=event)
        return event


def credit_volume_count(
    *,
    enterprise: Enterprise,
    day: datetime.date,
    event_id: int,
    released: int = 0,
    returned: int = 0,
    recompute: bool,
) -> bool:
    """Count the lists the event ``event_id`` released or returned for the enterprise on
    ``day``, once: events come in id order, and one at or below the day's last counted id was
    counted already (False). The score is recomputed if asked (a return moves it; a release
    alone only dilutes the rate, which the nightly run takes in)."""
    with transaction.atomic():
        counted = CreditVolume.objects.filter(enterprise=enterprise, day=day, last_event_id__lt=event_id).update(
            released=F("released") + released, returned=F("returned") + returned, last_event_id=event_id
        )
        if not counted:
            try:
                with transaction.atomic():
                    CreditVolume.objects.create(
                        enterprise=enterprise, day=day, released=released, returned=returned, last_event_id=event_id
                    )
            except IntegrityError:
                return False  # the day's row is past this event
        if recompute:
            credit_score_recompute(enterprise_id=enterprise.pk, trigger=ScoreTrigger.EVENT)
        return True


def credit_event_problems(*, kind: str, weight: int | None, reference: str) -> list[FieldError]:
    """What is wrong with a regulator's entry (empty: nothing); the admin's form shows them."""
    problems = []
    rule = scoring.RULES.get(kind)
    if kind not in REGULATOR_KINDS or rule is None:
        problems.append(
            FieldError("kind", codes.CREDIT_EVENT_KIND_NOT_RECORDABLE, _("This kind is learned from events only."))
        )
    elif weight is not None and not rule.lowest <= weight <= rule.highest:
        problems.append(
            FieldError(
                "weight",
                codes.CREDIT_EVENT_WEIGHT_OUT_OF_RANGE,
                _("The weight of this kind is from %(lowest)d to %(highest)d.")
                % {"lowest": rule.lowest, "highest": rule.highest},
            )
        )
    if not reference.strip():
        problems.append(FieldError("reference", codes.REASON_REQUIRED, _("Name the decision this records.")))
    return problems


def credit_event_record(
    *,
    enterprise: Enterprise,
    kind: str,
    occurred_at: datetime.datetime,
    reference: str,
    actor: Actor,
    weight: int | None = None,
    note: str = "",
) -> CreditEvent:
    """A regulator records a penalty, a commendation or a certification (``reference``: the
    decision's number), at the kind's weight or one within the kind's range; audited, and the
    score recomputed. The same decision twice for an enterprise is a conflict."""
    problems = credit_event_problems(kind=kind, weight=weight, reference=reference)
    if problems:
        raise InvalidInput(_("The credit event is not valid."), errors=problems)
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = CreditEvent.objects.create(
                    enterprise=enterprise,
                    kind=kind,
                    occurred_at=occurred_at,
                    weight=weight if weight is not None else scoring.RULES[kind].weight,
                    source=CreditEventSource.REGULATOR,
                    source_reference=reference.strip(),
                    details={"note": note} if note else {},
                    recorded_by=actor.label[:200],
                )
        except IntegrityError as exc:
            raise Conflict(
                _("This decision is already recorded for the enterprise."), code=codes.CREDIT_EVENT_DUPLICATE
            ) from exc
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=event, after=snapshot(event))
        credit_score_recompute(enterprise_id=enterprise.pk, trigger=ScoreTrigger.REGULATOR, credit_event=event)
        return event


def credit_event_annul(*, event: CreditEvent, reason: str, actor: Actor) -> CreditEvent:
    """A regulator annuls an entry it recorded (a mistake, a decision overturned): it stays on
    record, no longer counts; audited, the score recomputed."""
    if not reason.strip():
        raise InvalidInput.for_field("annul_reason", codes.REASON_REQUIRED, _("Give the reason for annulling."))
    with transaction.atomic():
        locked = CreditEvent.objects.select_for_update().get(pk=event.pk)
        if locked.source != CreditEventSource.REGULATOR or locked.annulled_at is not None:
            raise Conflict(
                _("Only a regulator's entry that stands may be annulled."), code=codes.CREDIT_EVENT_NOT_ANNULLABLE
            )
        model_update(
            instance=locked,
            data={"annulled_at": timezone.now(), "annul_reason": reason.strip()[:500]},
            actor=actor,
            reason=reason.strip(),
        )
        credit_score_recompute(enterprise_id=locked.enterprise_id, trigger=ScoreTrigger.REGULATOR)
        return locked


# --- Overrides ------------------------------------------------------------------------------------------


def credit_grade_override_set(*, enterprise: Enterprise, grade: str, reason: str, actor: Actor) -> CreditGradeOverride:
    """A regulator sets the enterprise's grade by hand; the override in force, if any, is lifted
    by this one. Audited with the reason."""
    if grade not in Grade.values:
        raise InvalidInput.for_field("grade", errors.INVALID, _("Not a grade."))
    if not reason.strip():
        raise InvalidInput.for_field("reason", codes.REASON_REQUIRED, _("Give the reason for the override."))
    with transaction.atomic():
        standing = CreditGradeOverride.objects.select_for_update().filter(enterprise=enterprise, lifted_at__isnull=True)
        for previous in standing:
            model_update(
                instance=previous,
                data={
                    "lifted_at": timezone.now(),
                    "lift_reason": "replaced by a new override",
                    "lifted_by": actor.label[:200],
                },
                actor=actor,
                action=AuditEntry.Action.REVOKE,
            )
        try:
            with transaction.atomic():
                override = CreditGradeOverride.objects.create(
                    enterprise=enterprise, grade=grade, reason=reason.strip()[:500], set_by=actor.label[:200]
                )
        except IntegrityError as exc:
            raise Conflict(
                _("Another override was set at the same moment."), code=codes.GRADE_OVERRIDE_IN_FORCE
            ) from exc
        audit_record(
            actor=actor, action=AuditEntry.Action.CREATE, instance=override, after=snapshot(override), reason=reason
        )
        return override


def credit_grade_override_lift(*, override: CreditGradeOverride, reason: str, actor: Actor) -> CreditGradeOverride:
    """The computed grade applies again. Audited with the reason."""
    if not reason.strip():
        raise InvalidInput.for_field("lift_reason", codes.REASON_REQUIRED, _("Give the reason for lifting."))
    with transaction.atomic():
        locked = CreditGradeOverride.objects.select_for_update().get(pk=override.pk)
        if locked.lifted_at is None:
            model_update(
                instance=locked,
                data={"lifted_at": timezone.now(), "lift_reason": reason.strip()[:500], "lifted_by": actor.label[:200]},
                actor=actor,
                action=AuditEntry.Action.REVOKE,
                reason=reason.strip(),
            )
        return locked


# --- Consents ------------------------------------------------------------------------------------------


def credit_consent_grant(
    *,
    grantor: Enterprise,
    grantee: Enterprise,
    purpose: str,
    expires_at: datetime.datetime,
    actor: Actor,
    now: datetime.datetime | None = None,
) -> CreditConsent:
    """``grantor`` lets the financial institution ``grantee`` use its credit for ``purpose``
    until ``expires_at`` (in the future, at most a year away). A consent of the same grantee and
    purpose still in force is a conflict (revoke it first); one that expired is closed."""
    now = now or timezone.now()
    problems = []
    if grantee.pk == grantor.pk:
        problems.append(FieldError("grantee", codes.CONSENT_TO_SELF, _("An enterprise does not consent to itself.")))
    elif not grantee.has_role(Role.FINANCE):
        problems.append(
            FieldError(
                "grantee", codes.CONSENT_GRANTEE_NOT_FINANCE, _("Consents are granted to financial institutions only.")
            )
        )
    if expires_at <= now:
        problems.append(FieldError("expires_at", codes.CONSENT_EXPIRY_PAST, _("The expiry must be in the future.")))
    elif expires_at > now + CONSENT_LONGEST:
        problems.append(FieldError("expires_at", codes.CONSENT_EXPIRY_TOO_LATE, _("A consent lasts at most a year.")))
    if purpose not in ConsentPurpose.values:
        problems.append(FieldError("purpose", errors.INVALID, _("Not a purpose.")))
    if problems:
        raise InvalidInput(_("The consent is not valid."), errors=problems)
    with transaction.atomic():
        open_consent = (
            CreditConsent.objects.select_for_update()
            .filter(grantor=grantor, grantee=grantee, purpose=purpose, ended_at__isnull=True)
            .first()
        )
        if open_consent is not None:
            if open_consent.expires_at > now:
                raise Conflict(
                    _("A consent for this institution and purpose is in force; revoke it first."),
                    code=codes.CONSENT_IN_FORCE,
                    extra={"consent_id": open_consent.pk},
                )
            open_consent.ended_at = open_consent.expires_at
            open_consent.save(update_fields=["ended_at"])
        try:
            with transaction.atomic():
                consent = CreditConsent.objects.create(
                    grantor=grantor,
                    grantee=grantee,
                    purpose=purpose,
                    expires_at=expires_at,
                    granted_by=actor.label[:200],
                )
        except IntegrityError as exc:
            raise Conflict(
                _("A consent for this institution and purpose is in force; revoke it first."),
                code=codes.CONSENT_IN_FORCE,
            ) from exc
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=consent, after=snapshot(consent))
        return consent


def credit_consent_revoke(*, consent: CreditConsent, actor: Actor) -> CreditConsent:
    """Revoke a consent in force, at once: the next read is refused. A consent that already
    ended is left as it is."""
    with transaction.atomic():
        locked = CreditConsent.objects.select_for_update().get(pk=consent.pk)
        now = timezone.now()
        if locked.ended_at is None and locked.expires_at > now:
            model_update(instance=locked, data={"ended_at": now}, actor=actor, action=AuditEntry.Action.REVOKE)
        return locked


# --- Reading a report -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """Who asks for a report: an enterprise's key, or a regulator's."""

    enterprise: Enterprise | None = None
    user: AbstractBaseUser | None = None


def credit_report_read(*, subject: Enterprise, reader: Reader) -> selectors.CreditReport:
    """``subject``'s credit report, if ``reader`` may read it now (``selectors.report_access``:
    checked against the database on every read, no cache). A read by anyone but the enterprise
    itself is logged in the same transaction. Anyone else: ``NotFoundError``, as for an
    enterprise nobody registered."""
    with transaction.atomic():
        access = selectors.report_access(subject=subject, enterprise=reader.enterprise, user=reader.user)
        if access is None:
            raise NotFoundError
        if not access.own:
            CreditReportRead.objects.create(
                enterprise=subject,
                reader_enterprise=reader.enterprise if access.consent is not None else None,
                reader_user=access.regulator,  # type: ignore[misc]
                consent=access.consent,
            )
        return selectors.credit_report_of(enterprise=subject)
