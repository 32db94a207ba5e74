"""Trade financing: an enterprise applies to a financial institution, the institution reads
the applicant's record under its consent and decides; the applicant may withdraw first.

Each service owns its transaction and writes the audit record in it. The moves, once each:

    submitted ──(institution: approve)──► approved
              ──(institution: reject)───► rejected
              ──(applicant: withdraw)───► withdrawn

A move is made on the row locked (``select_for_update``), so a decision and a withdrawal racing
for one application leave one of them a 409 (``finance_application_not_submitted``).

The record (the applicant's credit summary and trade figures, ``finance.figures``) is the
institution's to read only while the applicant's ``trade_financing`` consent to it is in force
(``credit.selectors.consent_in_force``, read from the database at every read). Each read is
logged (``FinancingRecordRead``) in the transaction that reads.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import Actor, audit_record, snapshot
from core.errors import Conflict, FieldError, InvalidInput, NotFoundError
from core.models import AuditEntry
from core.services import model_update
from credit import selectors as credit
from finance import codes, event_types, figures
from finance.models import FinancingApplication, FinancingRecordRead, FinancingState
from single_window.events import event_publish
from single_window.models import Enterprise, EnterpriseStatus, Role

APPROVE = "approve"
REJECT = "reject"


def _subject(application: FinancingApplication) -> str:
    return f"financing:{application.pk}"


def _payload(application: FinancingApplication) -> dict[str, Any]:
    """What an event says of an application: ids, codes, amounts and the state (no free text)."""
    return {
        "application_id": application.pk,
        "applicant": application.applicant.code,
        "institution": application.institution.code,
        "amount": str(application.amount),
        "term_months": application.term_months,
        "state": application.state,
        "approved_amount": str(application.approved_amount) if application.approved_amount is not None else None,
        "annual_rate": str(application.annual_rate) if application.annual_rate is not None else None,
    }


def application_submit(
    *, applicant: Enterprise, institution: Enterprise, amount: Decimal, term_months: int, purpose: str, actor: Actor
) -> FinancingApplication:
    """``applicant`` asks ``institution`` (an active enterprise with the role ``finance``, not
    itself) to finance ``amount`` CNY over ``term_months``. The institution hears
    ``finance.application_submitted``."""
    if institution.pk == applicant.pk:
        raise InvalidInput.for_field(
            "institution", codes.FINANCING_TO_SELF, _("An enterprise does not apply to itself.")
        )
    if not institution.has_role(Role.FINANCE) or institution.status != EnterpriseStatus.ACTIVE:
        raise InvalidInput.for_field(
            "institution",
            codes.FINANCING_INSTITUTION_NOT_FINANCE,
            _("Applications are addressed to active financial institutions only."),
        )
    with transaction.atomic():
        application = FinancingApplication.objects.create(
            applicant=applicant,
            institution=institution,
            amount=amount,
            term_months=term_months,
            purpose=purpose.strip(),
        )
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=application, after=snapshot(application))
        event_publish(
            enterprise=institution,
            type=event_types.APPLICATION_SUBMITTED,
            payload=_payload(application),
            subject=_subject(application),
        )
    return application


def _locked(application_id: int) -> FinancingApplication:
    return (
        FinancingApplication.objects.select_for_update(of=("self",))
        .select_related("applicant", "institution")
        .get(pk=application_id)
    )


def _still_submitted(application: FinancingApplication) -> None:
    if application.state != FinancingState.SUBMITTED:
        raise Conflict(
            _("The application is no longer submitted."),
            code=codes.FINANCING_NOT_SUBMITTED,
            extra={"state": application.state},
        )


def application_decide(
    *,
    application: FinancingApplication,
    institution: Enterprise,
    decision: str,
    actor: Actor,
    amount: Decimal | None = None,
    annual_rate: Decimal | None = None,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> FinancingApplication:
    """The addressed ``institution`` approves (``amount`` at most the amount asked, at
    ``annual_rate``) or rejects (with ``reason``) a submitted application. Another enterprise:
    ``NotFoundError``; an application no longer submitted: 409. The applicant hears
    ``finance.application_decided``."""
    with transaction.atomic():
        locked = _locked(application.pk)
        if locked.institution_id != institution.pk:
            raise NotFoundError
        _still_submitted(locked)
        if decision == APPROVE:
            if amount is None or annual_rate is None:
                msg = "an approval needs an amount and an annual rate"
                raise ValueError(msg)
            if amount > locked.amount:
                raise InvalidInput(
                    _("The decision is not valid."),
                    errors=[
                        FieldError(
                            "amount",
                            codes.FINANCING_APPROVED_ABOVE_REQUEST,
                            _("The amount approved is larger than the amount asked."),
                        )
                    ],
                )
            data: dict[str, Any] = {
                "state": FinancingState.APPROVED,
                "approved_amount": amount,
                "annual_rate": annual_rate,
            }
        elif decision == REJECT:
            if not reason.strip():
                msg = "a rejection needs a reason"
                raise ValueError(msg)
            data = {"state": FinancingState.REJECTED, "decision_reason": reason.strip()[:500]}
        else:
            msg = f"not a decision: {decision!r}"
            raise ValueError(msg)
        data |= {"decided_at": now or timezone.now(), "decided_by": institution}
        model_update(instance=locked, data=data, actor=actor)
        event_publish(
            enterprise=locked.applicant,
            type=event_types.APPLICATION_DECIDED,
            payload=_payload(locked),
            subject=_subject(locked),
        )
    return locked


def application_withdraw(
    *, application: FinancingApplication, applicant: Enterprise, actor: Actor
) -> FinancingApplication:
    """The applicant withdraws its application while it is submitted. Another enterprise:
    ``NotFoundError``; an application no longer submitted: 409. The institution hears
    ``finance.application_withdrawn``."""
    with transaction.atomic():
        locked = _locked(application.pk)
        if locked.applicant_id != applicant.pk:
            raise NotFoundError
        _still_submitted(locked)
        model_update(instance=locked, data={"state": FinancingState.WITHDRAWN}, actor=actor)
        event_publish(
            enterprise=locked.institution,
            type=event_types.APPLICATION_WITHDRAWN,
            payload=_payload(locked),
            subject=_subject(locked),
        )
    return locked


# --- The applicant's record ------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditSummary:
    customs_class: str
    score: int | None
    grade: str | None
    computed_at: datetime.datetime | None


@dataclass(frozen=True)
class ApplicantRecord:
    """What the institution reads with an application, under the consent it holds."""

    consent_id: int
    consent_expires_at: datetime.datetime
    credit: CreditSummary
    trade: figures.TradeFigures


def application_record_read(
    *, application: FinancingApplication, institution: Enterprise, now: datetime.datetime | None = None
) -> ApplicantRecord | None:
    """The applicant's record for the application's ``institution``, if the applicant's
    ``trade_financing`` consent to it is in force now; else None. A read is logged in the same
    transaction. Anyone but the addressed institution gets None and nothing is logged."""
    if application.institution_id != institution.pk:
        return None
    applicant = application.applicant
    with transaction.atomic():
        consent = credit.consent_in_force(
            grantor=applicant, grantee=institution, purpose=credit.TRADE_FINANCING, now=now
        )
        if consent is None:
            return None
        FinancingRecordRead.objects.create(application=application, institution=institution, consent_id=consent.pk)
        report = credit.credit_report_of(enterprise=applicant)
        return ApplicantRecord(
            consent_id=consent.pk,
            consent_expires_at=consent.expires_at,
            credit=CreditSummary(
                customs_class=report.customs_class.code,
                score=report.profile.score if report.profile is not None else None,
                grade=report.grade,
                computed_at=report.profile.computed_at if report.profile is not None else None,
            ),
            trade=figures.trade_figures_of(enterprise=applicant, now=now),
        )
