"""What the declare step's systems hold for a list, followed through its lifecycle.

``declare.inventory_declare`` records each system's answer (``DeclareDecision``, state
``reserved``). From then on the list's moves tell the systems what became of it
(``docs/declare-step.md``, the table):

- released by customs (800): each answer of the list's version is ``consume``d;
- a move that ends this version's chance of release (matching failed or blocked, changed,
  rejected, deleted): each reserved answer is ``release``d;
- cancelled after release (CEB624 399) or returned: consumed answers are released too, so a
  system gives back what the parcel no longer uses (a return's own window is the system's rule).

Each call is made once per answer: the row's state moves first (a compare-and-swap), then the
system is told, in the transaction of the move.
"""

from __future__ import annotations

from collections.abc import Iterable

from declarations.models import DeclareDecision, Inventory, InventoryStatus
from single_window import declare as contract

S = InventoryStatus
State = DeclareDecision.State

# Moves after which a reserved answer holds nothing any more.
RELEASE_ON = frozenset(
    {
        S.MATCH_FAILED,
        S.RISK_REJECTED,
        S.RISK_BLOCKED,
        S.CORRECTION_REQUESTED,
        S.PENDING_DOCUMENTS,
        S.DRAFT,
        S.REJECTED,
        S.DELETED,
        S.CANCELLED,
        S.RETURNED,
    }
)
# Moves after release that give back what the release consumed.
GIVE_BACK_ON = frozenset({S.CANCELLED, S.RETURNED})


def _claim(decisions: Iterable[DeclareDecision], *, from_states: tuple[str, ...], to: str) -> list[DeclareDecision]:
    claimed = []
    for decision in decisions:
        moved = DeclareDecision.objects.filter(pk=decision.pk, state__in=from_states).update(state=to)
        if moved:
            claimed.append(decision)
    return claimed


def _release(
    inventory: Inventory, decisions: Iterable[DeclareDecision], *, from_states: tuple[str, ...], outcome: str
) -> None:
    for decision in _claim(decisions, from_states=from_states, to=State.RELEASED):
        system = contract.participant(decision.system)
        if system is not None:
            system.release(contract.ListRef(inventory.pk, decision.version), outcome=outcome)


def systems_follow(*, inventory: Inventory, status: str) -> None:
    """Tell the systems that answered for ``inventory`` that it moved to ``status``."""
    if status != S.RELEASED and status not in RELEASE_ON:
        return
    decisions = list(DeclareDecision.objects.filter(inventory=inventory).exclude(state=State.RELEASED))
    if not decisions:
        return
    if status == S.RELEASED:
        current = [d for d in decisions if d.version == inventory.version and d.state == State.RESERVED]
        for decision in _claim(current, from_states=(State.RESERVED,), to=State.CONSUMED):
            system = contract.participant(decision.system)
            if system is not None:
                system.consume(contract.ListRef(inventory.pk, decision.version))
        return
    from_states = (State.RESERVED, State.CONSUMED) if status in GIVE_BACK_ON else (State.RESERVED,)
    _release(inventory, decisions, from_states=from_states, outcome=status)


def release_all(*, inventory: Inventory, outcome: str) -> None:
    """Release every reserved answer of a list that stays where it is (given up in send_failed)."""
    decisions = DeclareDecision.objects.filter(inventory=inventory, state=State.RESERVED)
    _release(inventory, decisions, from_states=(State.RESERVED,), outcome=outcome)
