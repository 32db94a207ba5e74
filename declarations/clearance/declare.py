"""The declare step: the one place where a matched list becomes declared.

``inventory_declare`` runs in the matching transaction, once every document rule, the
positive list and the buyer's quota hold (``clearance.matching``). It hands the list's facts
(``clearance.facts``) to every system registered with the hub's declare step
(``single_window.declare``) and combines their answers (``docs/declare-step.md``):

1. any ``block``: the list goes to ``risk_blocked`` (what the others reserved is released, and
   the buyer's quota);
2. else any ``review``: the list goes to ``risk_review``, the regulators' review queue, until a
   regulator in scope approves it (``inventory_risk_approve``: judged again, normally declared)
   or rejects it (``inventory_risk_reject``: ``risk_rejected``, everything released);
3. else any ``hold``: the list is ``held`` until the latest deadline; a system
   that changes its mind calls ``single_window.declare.reconsider``, and ``held_sweep`` judges
   the list again at the deadline, failing it (``declare_timeout``) if it still waits;
4. else ``declared``: the list is marked for dispatch (``customs.gateway.document_mark``), and
   after this transaction commits the customs gateway packs it with its declarant's other lists
   into a CEB621, signs, checks and enqueues it, outside the parcel and quota locks. The gateway's
   ``dispatch_sweep`` sends any list left marked.

Each answer is recorded per list version and system (``DeclareDecision``) and, for the trace,
as a rule result ``declare:<system>``.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import Actor, audit_record
from core.errors import InvalidInput
from core.models import AuditEntry
from declarations import events, kinds
from declarations.clearance import facts as list_facts
from declarations.clearance import lifecycle, match_rules, notes, reservations
from declarations.customs import gateway
from declarations.models import (
    DeclareDecision,
    Inventory,
    InventoryStatus,
    QuotaReservation,
    RuleResult,
    StatusChangeSource,
)
from declarations.tax import quotas
from single_window import declare as contract
from single_window.events import atomic_with_events

logger = logging.getLogger(__name__)

SYSTEM = StatusChangeSource.SINGLE_WINDOW
DECLARE_TIMEOUT = "declare_timeout"
SYSTEM_UNAVAILABLE = "system_unavailable"
# A system that fails to answer is asked again this much later.
UNAVAILABLE_RETRY = datetime.timedelta(minutes=5)


def _ask(system: contract.Participant, facts: contract.ListFacts) -> contract.Decision:
    """One system's answer; one that raises holds the list for a retry rather than sink it."""
    try:
        # A system that fails is rolled back with the events it published (``events_deferred``).
        with atomic_with_events():
            return system.reserve(facts)
    except Exception:
        logger.exception("declare step: %s failed on list %s", system.name, facts.ref.inventory_id)
        return contract.Decision(
            contract.Verdict.HOLD,
            (contract.Reason(SYSTEM_UNAVAILABLE, f"{system.name} did not answer; asked again later"),),
            hold_until=timezone.now() + UNAVAILABLE_RETRY,
        )


def _reasons(decision: contract.Decision) -> list[dict[str, object]]:
    return [{"code": r.code, "message": r.message, "evidence": dict(r.evidence)} for r in decision.reasons]


def _record(inventory: Inventory, answers: list[tuple[str, contract.Decision]]) -> None:
    run = match_rules.next_rule_run(inventory)
    # One statement for every system's answer; a list matched again for the same version
    # replaces that version's answers.
    DeclareDecision.objects.bulk_create(
        [
            DeclareDecision(
                inventory=inventory,
                version=inventory.version,
                system=system,
                verdict=decision.verdict.value,
                reasons=_reasons(decision),
                hold_until=decision.hold_until,
                state=DeclareDecision.State.RESERVED,
            )
            for system, decision in answers
        ],
        update_conflicts=True,
        unique_fields=["inventory", "version", "system"],
        update_fields=["verdict", "reasons", "hold_until", "state", "updated_at"],
    )
    RuleResult.objects.bulk_create(
        [
            RuleResult(
                inventory=inventory,
                run=run,
                rule=f"declare:{system}"[:60],
                outcome=RuleResult.Outcome.PASSED
                if decision.verdict is contract.Verdict.PASS
                else RuleResult.Outcome.FAILED,
                documents=[f"inventory:{inventory.pk}"],
                note=" ".join([decision.verdict.value, *(r.code for r in decision.reasons)])[:200],
            )
            for system, decision in answers
        ]
    )


def _codes(answers: list[tuple[str, contract.Decision]], verdict: contract.Verdict) -> list[str]:
    """The reason codes of the answers with ``verdict`` (the rules that sent the list where it went)."""
    return sorted({r.code for _system, decision in answers if decision.verdict is verdict for r in decision.reasons})


def _summary(answers: list[tuple[str, contract.Decision]]) -> str:
    return "; ".join(
        f"{system}: {decision.verdict.value} {','.join(r.code for r in decision.reasons)}".strip()
        for system, decision in answers
        if decision.verdict is not contract.Verdict.PASS
    )[:500]


def _judge(inventory: Inventory, *, final: bool) -> str:
    """Ask every system about the list (matched or held, read under its row lock in this
    transaction) and move it; its new status.

    ``final``: the hold's deadline has passed, so a list still waiting fails.
    """
    facts = list_facts.list_facts(inventory=inventory)
    answers = [(system.name, _ask(system, facts)) for system in contract.participants()]
    _record(inventory, answers)
    verdicts = {decision.verdict for _system, decision in answers}
    if contract.Verdict.BLOCK in verdicts:
        lifecycle.inventory_transition(
            inventory=inventory,
            to=InventoryStatus.RISK_BLOCKED,
            source=SYSTEM,
            locked=True,
            note=f"blocked: {_summary(answers)}",
            note_code=notes.BLOCKED,
            note_params={"answers": notes.answers_param(answers)},
        )
        events.inventory_risk_blocked(inventory=inventory, reasons=_codes(answers, contract.Verdict.BLOCK))
    elif contract.Verdict.REVIEW in verdicts:
        # A regulator looks first (the review queue); it waits for the regulator, not a deadline.
        Inventory.objects.filter(pk=inventory.pk).update(held_until=None)
        inventory.held_until = None
        lifecycle.inventory_transition(
            inventory=inventory,
            to=InventoryStatus.RISK_REVIEW,
            source=SYSTEM,
            locked=True,
            note=f"review: {_summary(answers)}",
            note_code=notes.REVIEW,
            note_params={"answers": notes.answers_param(answers)},
        )
        events.inventory_risk_review(inventory=inventory, reasons=_codes(answers, contract.Verdict.REVIEW))
    elif contract.Verdict.HOLD in verdicts:
        # A system that failed to answer is asked again; only its own verdict ends the wait.
        waiting = [
            reason.code
            for _system, decision in answers
            if decision.verdict is not contract.Verdict.PASS
            for reason in decision.reasons or (contract.Reason("", ""),)
        ]
        unanswered = all(code == SYSTEM_UNAVAILABLE for code in waiting)
        if final and not unanswered:
            RuleResult.objects.create(
                inventory=inventory,
                run=(RuleResult.objects.filter(inventory=inventory).aggregate(run=Max("run"))["run"] or 0),
                rule=DECLARE_TIMEOUT,
                outcome=RuleResult.Outcome.FAILED,
                documents=[f"inventory:{inventory.pk}"],
                note=_summary(answers)[:200],
            )
            lifecycle.inventory_transition(
                inventory=inventory,
                to=InventoryStatus.MATCH_FAILED,
                source=SYSTEM,
                locked=True,
                note=f"{DECLARE_TIMEOUT}: {_summary(answers)}",
                note_code=notes.DECLARE_TIMEOUT,
                note_params={"answers": notes.answers_param(answers)},
            )
        else:
            default = timezone.now() + datetime.timedelta(seconds=settings.DECLARE_HOLD_SECONDS)
            # The list waits for the last system that asked it to; a system that changes its mind
            # sooner calls reconsider.
            deadline = max(d.hold_until or default for _s, d in answers if d.verdict is not contract.Verdict.PASS)
            Inventory.objects.filter(pk=inventory.pk).update(held_until=deadline)
            inventory.held_until = deadline
            lifecycle.inventory_transition(
                inventory=inventory,
                to=InventoryStatus.HELD,
                source=SYSTEM,
                locked=True,
                note=f"held: {_summary(answers)}",
                note_code=notes.HELD,
                note_params={"answers": notes.answers_param(answers)},
            )
    else:
        lifecycle.inventory_transition(
            inventory=inventory,
            to=InventoryStatus.DECLARED,
            source=SYSTEM,
            locked=True,
            note="declared to customs automatically",
            note_code=notes.DECLARED_AUTOMATICALLY,
        )
        gateway.document_mark(kind=kinds.INVENTORY, document=inventory)
    return inventory.status


def inventory_declare(*, inventory: Inventory) -> str:
    """Declare a matched list if every system lets it; runs in the matching transaction with the
    list locked. Returns the list's new status: declared, held, risk_review or risk_blocked."""
    if inventory.status != InventoryStatus.MATCHED:
        msg = f"only a matched list is declared, not one in {inventory.status}"
        raise ValueError(msg)
    return _judge(inventory, final=False)


def inventory_reconsider(*, inventory_id: int, final: bool = False) -> str | None:
    """Judge a held list again (a system changed its mind, or its deadline came). A list whose
    agent's appointment lapsed while it was held fails first (``match_rules.agent_appointed``)."""
    with transaction.atomic():
        inventory = (
            Inventory.objects.select_for_update()
            .prefetch_related("items")
            .filter(pk=inventory_id, status=InventoryStatus.HELD)
            .first()
        )
        if inventory is None:
            return None
        lapsed = match_rules.agent_appointed(inventory)
        if lapsed is not None:
            # Held for days, the list may have lost its agent: it fails rather than go to customs.
            _fail_rule(inventory, lapsed)
            return inventory.status
        return _judge(inventory, final=final)


def _fail_rule(inventory: Inventory, outcome: match_rules.Outcome) -> None:
    """Record a rule that fails a held list, with its last matching run, and fail the list."""
    RuleResult.objects.create(
        inventory=inventory,
        run=(RuleResult.objects.filter(inventory=inventory).aggregate(run=Max("run"))["run"] or 0),
        rule=outcome.rule,
        outcome=RuleResult.Outcome.FAILED,
        field=outcome.field,
        list_value=outcome.list_value,
        other_value=outcome.other_value,
        documents=outcome.documents,
        customs_code=outcome.customs_code,
        note=outcome.note[:200],
    )
    lifecycle.inventory_transition(
        inventory=inventory,
        to=InventoryStatus.MATCH_FAILED,
        source=SYSTEM,
        note=f"{outcome.rule}: {outcome.note}"[:500],
        note_code=notes.RULE_FAILED,
        note_params={"rule": outcome.rule},
    )


def held_sweep(*, now: datetime.datetime | None = None, limit: int = 200) -> int:
    """Judge once more every held list whose deadline has passed; still waiting, it fails."""
    due = Inventory.objects.filter(status=InventoryStatus.HELD, held_until__lte=now or timezone.now())
    ids = list(due.order_by("held_until").values_list("pk", flat=True)[:limit])
    for inventory_id in ids:
        inventory_reconsider(inventory_id=inventory_id, final=True)
    return len(ids)


def _reconsider(inventory_id: int) -> None:
    inventory_reconsider(inventory_id=inventory_id)


def send_failed_sweep(*, now: datetime.datetime | None = None, limit: int = 200) -> int:
    """Give up the lists left in send_failed longer than ``SEND_FAILED_GIVE_UP_SECONDS``: the
    buyer's quota and what the systems reserved are released (docs/declare-step.md). The list
    stays send_failed; a change by its enterprise matches, reserves and declares it again."""
    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=settings.SEND_FAILED_GIVE_UP_SECONDS)
    due = Inventory.objects.filter(
        status=InventoryStatus.SEND_FAILED,
        updated_at__lte=cutoff,
        quota_reservation__state=QuotaReservation.State.RESERVED,
    )
    ids = list(due.order_by("updated_at").values_list("pk", flat=True)[:limit])
    for inventory_id in ids:
        with transaction.atomic():
            inventory = Inventory.objects.select_for_update().get(pk=inventory_id)
            if inventory.status != InventoryStatus.SEND_FAILED:
                continue
            quotas.quota_give_back(inventory=inventory)
            reservations.release_all(inventory=inventory, outcome=InventoryStatus.SEND_FAILED)
    return len(ids)


# --- The regulators' review ----------------------------------------------------------------------

REVIEW_RULE = "risk_review"


def _reviewed(inventory_id: int) -> Inventory:
    inventory = Inventory.objects.select_for_update().prefetch_related("items").filter(pk=inventory_id).first()
    if inventory is None:
        raise Inventory.DoesNotExist
    if inventory.status != InventoryStatus.RISK_REVIEW:
        raise lifecycle.TransitionNotAllowed(
            inventory_id=inventory.pk, from_status=inventory.status, to_status=InventoryStatus.DECLARED
        )
    return inventory


def _conclude(inventory: Inventory, *, approved: bool, actor: Actor, reason: str) -> None:
    """Record the regulator's conclusion: the systems (``review_concluded``), the trace, the audit log."""
    contract.review_concluded(
        contract.Review(
            ref=contract.ListRef(inventory.pk, inventory.version),
            approved=approved,
            reason=reason,
            reviewer=actor.label,
        )
    )
    RuleResult.objects.create(
        inventory=inventory,
        run=(RuleResult.objects.filter(inventory=inventory).aggregate(run=Max("run"))["run"] or 0),
        rule=REVIEW_RULE,
        outcome=RuleResult.Outcome.PASSED if approved else RuleResult.Outcome.FAILED,
        documents=[f"inventory:{inventory.pk}"],
        note=f"{'approved' if approved else 'rejected'} by {actor.label}: {reason}"[:200],
    )


def _audit_review(inventory: Inventory, *, before: str, actor: Actor, reason: str) -> None:
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=inventory,
        before={"status": before},
        after={"status": inventory.status},
        reason=reason,
    )


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("A review's conclusion needs a reason."))
    return reason


def inventory_risk_approve(*, inventory_id: int, actor: Actor, reason: str) -> str:
    """A regulator approves a list in risk review: the systems are told, and the list is judged
    again at once (declared and dispatched unless another system still holds or blocks it).
    Audited with the reason. Returns the list's new status."""
    reason = _reason(reason)
    with transaction.atomic():
        inventory = _reviewed(inventory_id)
        _conclude(inventory, approved=True, actor=actor, reason=reason)
        events.inventory_risk_cleared(inventory=inventory)
        lapsed = match_rules.agent_appointed(inventory)
        if lapsed is not None:
            _fail_rule(inventory, lapsed)
        else:
            _judge(inventory, final=False)
        _audit_review(inventory, before=InventoryStatus.RISK_REVIEW, actor=actor, reason=reason)
        return inventory.status


def inventory_risk_reject(*, inventory_id: int, actor: Actor, reason: str) -> str:
    """A regulator rejects a list in risk review: ``risk_rejected``, never to customs in this
    version; the buyer's quota and every system's reservation are released. Audited."""
    reason = _reason(reason)
    with transaction.atomic():
        inventory = _reviewed(inventory_id)
        _conclude(inventory, approved=False, actor=actor, reason=reason)
        lifecycle.inventory_transition(
            inventory=inventory,
            to=InventoryStatus.RISK_REJECTED,
            source=SYSTEM,
            note=f"rejected in review by {actor.label}: {reason}"[:500],
            note_code=notes.REJECTED_IN_REVIEW,
            note_params={"actor": actor.label, "reason": reason},
        )
        _audit_review(inventory, before=InventoryStatus.RISK_REVIEW, actor=actor, reason=reason)
        return inventory.status


def register() -> None:
    """Let systems that change their mind about a held list have it judged again, and find a
    list by the number customs gave it."""
    contract.register_reconsider(_reconsider)
    contract.register_list_lookup(list_facts.customs_list_facts)
