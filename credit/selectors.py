"""What credit tells others: the facts risk and finance read (``customs_class_of``,
``score_of``, ``consent_in_force``, ``volumes_of``), the report, who may read it, and the reads
log.

Other systems import this module only. The facts are frozen dataclasses; each is one indexed
query.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from credit.models import (
    ConsentPurpose,
    CreditConsent,
    CreditEvent,
    CreditGradeOverride,
    CreditProfile,
    CreditReportRead,
    CreditScore,
    CreditVolume,
    CustomsClass,
    CustomsClassDecision,
)
from single_window.models import Enterprise, Role
from single_window.scope import Scope, scoped

# The permission a regulator's key needs to read credit reports over the API (the admin's
# view permission on profiles, which the regulators' groups are given: credit/roles.py).
REPORT_PERMISSION = "credit.view_creditprofile"
# The purpose of the consent under which a financial institution reads an applicant's record
# with a financing application (finance).
TRADE_FINANCING: str = ConsentPurpose.TRADE_FINANCING.value


@dataclass(frozen=True)
class ClassFacts:
    """The customs class an enterprise is in, and that class's random inspection rate (a
    fraction: 0.0244 is 2.44%)."""

    code: str
    inspection_rate: Decimal


@dataclass(frozen=True)
class ScoreFacts:
    """The enterprise's score (0-1000) and grade (a regulator's override, if one stands, else
    the computed grade)."""

    score: int
    grade: str
    computed_grade: str
    overridden: bool


def _named(code: str, path: str = "enterprise") -> Q:
    """The enterprise at ``path`` is the one ``code`` names (customs code or USCC)."""
    return Q(**{f"{path}__customs_code": code}) | Q(**{f"{path}__uscc": code})


def _latest_decision(enterprise: Q, on: datetime.date) -> QuerySet[CustomsClassDecision]:
    return CustomsClassDecision.objects.filter(enterprise, effective_from__lte=on).order_by("-effective_from", "-id")


def customs_class_of(code: str) -> ClassFacts:
    """The class of the enterprise ``code`` names: its latest customs decision in force, else
    the default class (an unknown code too: customs treats it as any other enterprise).

    One query: the decided class and the default, the decided one first.
    """
    decided = _latest_decision(_named(code), timezone.localdate()).values("customs_class_id")[:1]
    row = (
        CustomsClass.objects.filter(Q(pk=Subquery(decided)) | Q(is_default=True))
        .order_by("is_default")
        .values_list("code", "inspection_rate")
        .first()
    )
    if row is None:
        msg = "no customs class is marked the default (credit's data migration seeds one)"
        raise LookupError(msg)
    return ClassFacts(code=row[0], inspection_rate=row[1])


def score_of(code: str) -> ScoreFacts | None:
    """The score and grade of the enterprise ``code`` names; None before it was first computed
    (at its first credit event, or the night after it was registered). One query."""
    override = CreditGradeOverride.objects.filter(enterprise=OuterRef("enterprise"), lifted_at__isnull=True)
    row = (
        CreditProfile.objects.filter(_named(code))
        .annotate(override=Subquery(override.values("grade")[:1]))
        .values_list("score", "grade", "override")
        .first()
    )
    if row is None:
        return None
    score, grade, overridden = row
    return ScoreFacts(score=score, grade=overridden or grade, computed_grade=grade, overridden=overridden is not None)


def consent_in_force(
    *, grantor: Enterprise, grantee: Enterprise, purpose: str, now: datetime.datetime | None = None
) -> CreditConsent | None:
    """The consent ``grantor`` gave ``grantee`` for ``purpose``, if it stands now: read from the
    database every time, so a revocation counts from the next read."""
    return CreditConsent.objects.filter(
        grantor=grantor, grantee=grantee, purpose=purpose, ended_at__isnull=True, expires_at__gt=now or timezone.now()
    ).first()


@dataclass(frozen=True)
class DayVolume:
    """Lists of an enterprise released and returned (after release) on one day, China Standard
    Time."""

    day: datetime.date
    released: int
    returned: int


def volumes_of(*, enterprise: Enterprise, since: datetime.date) -> list[DayVolume]:
    """The enterprise's daily counts of lists released and returned from ``since`` on, oldest
    first; days with neither are absent. One indexed query (``credit_volume_day_unique``)."""
    return [
        DayVolume(day=day, released=released, returned=returned)
        for day, released, returned in CreditVolume.objects.filter(enterprise=enterprise, day__gte=since)
        .order_by("day")
        .values_list("day", "released", "returned")
    ]


# --- The report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassOnRecord:
    customs_class: CustomsClass
    decision: CustomsClassDecision | None


def class_on_record(*, enterprise: Enterprise) -> ClassOnRecord:
    decision = _latest_decision(Q(enterprise=enterprise), timezone.localdate()).select_related("customs_class").first()
    if decision is not None:
        return ClassOnRecord(customs_class=decision.customs_class, decision=decision)
    return ClassOnRecord(customs_class=CustomsClass.objects.get(is_default=True), decision=None)


def override_in_force(*, enterprise: Enterprise) -> CreditGradeOverride | None:
    return CreditGradeOverride.objects.filter(enterprise=enterprise, lifted_at__isnull=True).first()


def profile_of(*, enterprise: Enterprise) -> CreditProfile | None:
    return CreditProfile.objects.filter(enterprise=enterprise).first()


@dataclass(frozen=True)
class CreditReport:
    """What a report shows: the class and its source, the score with how it was computed, the
    override. No list, rule or evidence: contributions are by kind of event only."""

    enterprise: Enterprise
    customs_class: CustomsClass
    decision: CustomsClassDecision | None
    profile: CreditProfile | None
    override: CreditGradeOverride | None

    @property
    def grade(self) -> str | None:
        if self.override is not None:
            return self.override.grade
        return self.profile.grade if self.profile is not None else None


def credit_report_of(*, enterprise: Enterprise) -> CreditReport:
    on_record = class_on_record(enterprise=enterprise)
    return CreditReport(
        enterprise=enterprise,
        customs_class=on_record.customs_class,
        decision=on_record.decision,
        profile=profile_of(enterprise=enterprise),
        override=override_in_force(enterprise=enterprise),
    )


@dataclass(frozen=True)
class ReportAccess:
    """Why a reader may read a report: it is the enterprise itself, holds a consent, or is a
    regulator covering the enterprise."""

    own: bool = False
    consent: CreditConsent | None = None
    regulator: AbstractBaseUser | None = None


def report_access(
    *, subject: Enterprise, enterprise: Enterprise | None, user: AbstractBaseUser | None
) -> ReportAccess | None:
    """May this caller (an enterprise, or a regulator's user) read ``subject``'s report now?

    1. The enterprise itself: yes.
    2. A financial institution (role ``finance``) with a ``credit_report`` consent in force from
       ``subject``: yes, under that consent.
    3. An active regulator with the view permission on credit profiles, whose districts or
       parks cover ``subject``: yes.
    Anyone else: None (the API answers 404, as for an enterprise nobody registered).
    """
    if enterprise is not None:
        # 1.
        if enterprise.pk == subject.pk:
            return ReportAccess(own=True)
        # 2.
        if not enterprise.has_role(Role.FINANCE):
            return None
        consent = consent_in_force(grantor=subject, grantee=enterprise, purpose=ConsentPurpose.CREDIT_REPORT)
        return ReportAccess(consent=consent) if consent is not None else None
    # 3.
    if user is None or not user.is_active or not user.has_perm(REPORT_PERMISSION):  # type: ignore[attr-defined]
        return None
    covered = scoped(Enterprise.objects.filter(pk=subject.pk), Scope.of(user)).exists()
    return ReportAccess(regulator=user) if covered else None


# --- Consents, reads, history ----------------------------------------------------------------------------


def consents_granted_by(*, enterprise: Enterprise) -> QuerySet[CreditConsent]:
    return CreditConsent.objects.filter(grantor=enterprise).select_related("grantee").order_by("-granted_at", "-id")


def report_reads_of(*, enterprise: Enterprise) -> QuerySet[CreditReportRead]:
    """Who read the enterprise's report (others than itself), newest first."""
    return (
        CreditReportRead.objects.filter(enterprise=enterprise)
        .select_related("reader_enterprise", "consent")
        .order_by("-read_at", "-id")
    )


def score_history_of(*, enterprise_id: int, limit: int = 50) -> list[CreditScore]:
    return list(CreditScore.objects.filter(enterprise_id=enterprise_id).order_by("-computed_at", "-id")[:limit])


def credit_events_of(*, enterprise_id: int, limit: int = 50) -> list[CreditEvent]:
    return list(CreditEvent.objects.filter(enterprise_id=enterprise_id).order_by("-occurred_at", "-id")[:limit])
