"""Risk control's writes: judging a list (the declare step's ``reserve``), following what became
of it, and the regulators' edits of rules and watch lists (versioned and audited)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import Actor, audit_record, snapshot
from core.masking import mask_value
from core.models import AuditEntry
from risk import rulebook, rules
from risk.models import (
    Assessment,
    ListObservation,
    Outcome,
    PriceObservation,
    RiskHit,
    RiskRule,
    RiskRuleVersion,
    WatchKind,
)
from single_window import hashes
from single_window.declare import Decision, ListFacts, ListRef, Reason, Review, Verdict

REVIEW_REJECTED = "review_rejected"


@dataclass(frozen=True)
class Hit:
    rule: RiskRule
    evidence: rules.Evidence


_OUTCOME_OF = {Verdict.BLOCK: Outcome.BLOCK, Verdict.REVIEW: Outcome.REVIEW, Verdict.PASS: Outcome.FLAG}


def _verdict(hits: Iterable[Hit]) -> Verdict:
    outcomes = {hit.rule.outcome for hit in hits}
    if Outcome.BLOCK in outcomes:
        return Verdict.BLOCK
    if Outcome.REVIEW in outcomes:
        return Verdict.REVIEW
    return Verdict.PASS


def _reason(hit: Hit) -> dict[str, Any]:
    return {"code": hit.rule.code, "message": f"{hit.rule.name} ({hit.rule.outcome})", "evidence": hit.evidence}


def _decision(assessment: Assessment) -> Decision:
    reasons = tuple(
        Reason(str(r["code"]), str(r["message"]), {str(k): str(v) for k, v in (r.get("evidence") or {}).items()})
        for r in assessment.reasons
    )
    if assessment.review == Assessment.Review.APPROVED:
        # The review the rules asked for approved the list: it passes, its flags kept.
        return Decision(Verdict.PASS, reasons)
    if assessment.review == Assessment.Review.REJECTED:
        return Decision(Verdict.BLOCK, (*reasons, Reason(REVIEW_REJECTED, assessment.review_reason)))
    return Decision(Verdict(assessment.verdict), reasons)


def _observe(facts: ListFacts) -> None:
    ListObservation.objects.create(
        inventory_id=facts.ref.inventory_id,
        list_version=facts.ref.version,
        buyer_hash=facts.buyer_hash,
        ebc_code=facts.ebc_code,
        phone_hash=facts.consignee_phone_hash,
        address_hash=facts.consignee_address_hash,
        goods_value=rules.goods_value(facts).quantize(Decimal("0.01")),
        observed_at=facts.declared_at,
    )
    PriceObservation.objects.bulk_create(
        [
            PriceObservation(
                gcode=item.gcode,
                unit_price=rules.unit_price(item).quantize(Decimal("0.00001")),
                inventory_id=facts.ref.inventory_id,
                list_version=facts.ref.version,
                observed_at=facts.declared_at,
            )
            for item in facts.items
            if item.qty > 0
        ]
    )


def list_assess(*, facts: ListFacts) -> Decision:
    """Judge a list version by every enabled rule in scope; record the hits, the observations and
    the answer once. Asked again about the same version, the recorded answer."""
    ref = facts.ref
    existing = Assessment.objects.filter(inventory_id=ref.inventory_id, list_version=ref.version).first()
    if existing is not None:
        return _decision(existing)
    in_scope = [rule for rule in rulebook.enabled_rules() if rules.in_scope(rule, facts)]
    history = rules.History(facts, window_hours=rules.longest_window(in_scope))
    hits = []
    for rule in in_scope:
        evidence = rules.evaluate(rule, facts, history)
        if evidence is not None:
            hits.append(Hit(rule, evidence))
    verdict = _verdict(hits)
    # A block or review names the rules that decided it; a pass carries its flags. Every hit is
    # recorded (``RiskHit``), whatever decided.
    deciding = [h for h in hits if h.rule.outcome == _OUTCOME_OF[verdict]]
    with transaction.atomic():
        assessment = Assessment.objects.create(
            inventory_id=ref.inventory_id,
            list_version=ref.version,
            cop_no=facts.cop_no[:30],
            customs_code=facts.customs_code,
            park_code=facts.park_code,
            ebc_code=facts.ebc_code,
            verdict=verdict.value,
            reasons=[_reason(h) for h in deciding],
        )
        RiskHit.objects.bulk_create(
            [
                RiskHit(
                    inventory_id=ref.inventory_id,
                    list_version=ref.version,
                    rule=h.rule,
                    rule_code=h.rule.code,
                    rule_version=h.rule.version,
                    outcome=h.rule.outcome,
                    evidence=h.evidence,
                    customs_code=facts.customs_code,
                    park_code=facts.park_code,
                )
                for h in hits
            ]
        )
        _observe(facts)
    return _decision(assessment)


def assessment_consume(*, ref: ListRef) -> None:
    """Customs released the list: its observations stand."""
    Assessment.objects.filter(
        inventory_id=ref.inventory_id, list_version=ref.version, state=Assessment.State.RESERVED
    ).update(state=Assessment.State.CONSUMED, updated_at=timezone.now())


def assessment_release(*, ref: ListRef, outcome: str) -> None:
    """The list will not clear under this version: it no longer counts towards a split order,
    and its prices leave the history (a blocked or rejected price teaches nothing). It still
    counts for velocity and identity farming: an attempt is an attempt."""
    now = timezone.now()
    Assessment.objects.filter(inventory_id=ref.inventory_id, list_version=ref.version).exclude(
        state=Assessment.State.RELEASED
    ).update(state=Assessment.State.RELEASED, outcome=outcome[:20], updated_at=now)
    ListObservation.objects.filter(
        inventory_id=ref.inventory_id, list_version=ref.version, released_at__isnull=True
    ).update(released_at=now)
    PriceObservation.objects.filter(inventory_id=ref.inventory_id, list_version=ref.version).delete()


def assessment_reviewed(*, review: Review) -> None:
    """A regulator concluded the review of a list version: recorded with the answer."""
    Assessment.objects.filter(inventory_id=review.ref.inventory_id, list_version=review.ref.version).update(
        review=Assessment.Review.APPROVED if review.approved else Assessment.Review.REJECTED,
        reviewed_by=review.reviewer[:200],
        review_reason=review.reason[:300],
        reviewed_at=timezone.now(),
        updated_at=timezone.now(),
    )


# --- Regulators' edits ---------------------------------------------------------------------------


def _rule_snapshot(rule: RiskRule) -> dict[str, Any]:
    return snapshot(rule)


@transaction.atomic
def rule_save(*, rule: RiskRule, actor: Actor) -> RiskRule:
    """Store a new or changed rule as its next version: parameters checked for its kind, a
    version snapshot, and an audit entry, in one transaction."""
    rule.parameters = rules.clean_parameters(rule.kind, rule.parameters)
    before = None
    if rule.pk is not None:
        stored = RiskRule.objects.select_for_update().get(pk=rule.pk)
        before = _rule_snapshot(stored)
        rule.version = stored.version + 1
    else:
        rule.version = 1
    rule.save()
    RiskRuleVersion.objects.create(
        rule=rule, version=rule.version, snapshot=_rule_snapshot(rule), changed_by=actor.label
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE if before is not None else AuditEntry.Action.CREATE,
        instance=rule,
        before=before,
        after=_rule_snapshot(rule),
    )
    return rule


def watch_value(kind: str, plain: str) -> tuple[str, str]:
    """What a watch-list entry stores for a value typed in the admin: the enterprise code, or
    the keyed hash the facts carry; and a label a regulator recognises (masked)."""
    plain = plain.strip()
    if kind == WatchKind.ENTERPRISE:
        return plain.upper(), plain.upper()
    if kind == WatchKind.BUYER:
        return hashes.id_number_hash(plain), str(mask_value("id_number", hashes.normalise_id_number(plain)))
    if kind == WatchKind.PHONE:
        return hashes.phone_hash(plain), str(mask_value("telephone", hashes.normalise_phone(plain)))
    return hashes.address_hash(plain), str(mask_value("address", hashes.normalise_address(plain)))
