"""The one place that decides a declaration list's status (DOMAIN.md section 3, "The list's lifecycle").

Nothing else assigns ``Inventory.status``. Three ways in:

- ``inventory_create``: a new list is stored in its first state (draft, or waiting for documents);
- ``inventory_transition``: the single window's own moves (an enterprise's change or deletion,
  matching, sending, a cancellation customs accepted), checked against ``TRANSITIONS``;
- ``inventory_apply_receipt``: a customs receipt (CEB622). Every receipt is kept in the history;
  one that would move the list backwards is recorded and changes nothing, and the same receipt
  twice (same message guid, or same code and returnTime) is recorded once.

Each takes the list's row lock (``select_for_update``), so moves of one list never interleave.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.deferred import row_insert
from core.errors import Conflict, InvalidInput
from declarations import events
from declarations.clearance import reservations
from declarations.customs import receipt_codes
from declarations.models import Inventory, InventoryStatus, InventoryStatusChange, StatusChangeSource
from declarations.tax import quotas

TRANSITION_NOT_ALLOWED = "transition_not_allowed"
UNKNOWN_RECEIPT_CODE = "unknown_receipt_code"

S = InventoryStatus


def _states(*states: str) -> frozenset[str]:
    return frozenset(states)


# The lifecycle table: from each state, the states a list may move to.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    S.DRAFT: _states(S.PENDING_DOCUMENTS, S.DELETED),
    S.PENDING_DOCUMENTS: _states(S.MATCHED, S.MATCH_FAILED, S.DELETED, S.CORRECTION_REQUESTED),
    # A change (appType 2) goes back to waiting and re-runs matching.
    S.MATCH_FAILED: _states(S.PENDING_DOCUMENTS, S.DELETED, S.CORRECTION_REQUESTED),
    # The declare step (clearance.declare) asks the systems: declared, held for them, sent to a
    # regulator's review, or blocked.
    S.MATCHED: _states(
        S.DECLARED, S.HELD, S.RISK_REVIEW, S.RISK_BLOCKED, S.MATCH_FAILED, S.DELETED, S.CORRECTION_REQUESTED
    ),
    # Let through, sent to review or blocked, timed out, changed by the enterprise, or deleted.
    S.HELD: _states(
        S.DECLARED,
        S.RISK_REVIEW,
        S.RISK_BLOCKED,
        S.MATCH_FAILED,
        S.PENDING_DOCUMENTS,
        S.DELETED,
        S.CORRECTION_REQUESTED,
    ),
    # A regulator approves (judged again: declared, or held or blocked by another system) or
    # rejects; the agent's appointment lapsed meanwhile; changed by the enterprise, or deleted.
    S.RISK_REVIEW: _states(
        S.DECLARED,
        S.HELD,
        S.RISK_BLOCKED,
        S.RISK_REJECTED,
        S.MATCH_FAILED,
        S.PENDING_DOCUMENTS,
        S.DELETED,
        S.CORRECTION_REQUESTED,
    ),
    # Final for this version, as match_failed: a change (appType 2) is matched and judged afresh.
    S.RISK_REJECTED: _states(S.PENDING_DOCUMENTS, S.DELETED),
    S.RISK_BLOCKED: _states(S.PENDING_DOCUMENTS, S.DELETED),
    # Returned for correction only while no message of it has left (declarations.workbench).
    S.DECLARED: _states(S.ACCEPTED, S.REJECTED, S.SEND_FAILED, S.CORRECTION_REQUESTED),
    # Customs took it after all (a late 2 or 3), changed by the enterprise (matched and declared
    # again: the resend), or deleted.
    S.SEND_FAILED: _states(S.DECLARED, S.PENDING_DOCUMENTS, S.DELETED, S.CORRECTION_REQUESTED),
    # A regulator returned it to its enterprise before customs had it: as rejected, a change
    # (appType 2) is matched and judged afresh, as a draft or declared.
    S.CORRECTION_REQUESTED: _states(S.PENDING_DOCUMENTS, S.DRAFT, S.DELETED),
    S.ACCEPTED: _states(S.MANUAL_REVIEW, S.INSPECTION, S.DETAINED, S.RELEASED, S.REJECTED),
    S.MANUAL_REVIEW: _states(S.INSPECTION, S.DETAINED, S.RELEASED, S.REJECTED, S.RETURNED),
    S.INSPECTION: _states(S.MANUAL_REVIEW, S.DETAINED, S.RELEASED, S.REJECTED, S.RETURNED),
    S.DETAINED: _states(S.MANUAL_REVIEW, S.INSPECTION, S.RELEASED, S.REJECTED, S.RETURNED),
    # Cancelled when customs accepts a CEB623; returned (in part) through CEB625.
    S.RELEASED: _states(S.CLOSED, S.CANCELLED, S.RETURNED),
    # Final for customs; the enterprise may change the list (appType 2) and declare a new version.
    S.REJECTED: _states(S.PENDING_DOCUMENTS, S.DRAFT, S.DELETED),
    S.CLOSED: _states(),
    S.CANCELLED: _states(),
    S.RETURNED: _states(),
    S.DELETED: _states(),
}

# The states a new list is stored in: appStatus 1 (draft) or 2 (declared, waiting for documents).
ENTRY_STATES = _states(S.DRAFT, S.PENDING_DOCUMENTS)
# States in which no message of the list's current version has gone to customs.
NOT_SENT = _states(
    S.DRAFT,
    S.PENDING_DOCUMENTS,
    S.MATCH_FAILED,
    S.MATCHED,
    S.HELD,
    S.RISK_REVIEW,
    S.RISK_REJECTED,
    S.RISK_BLOCKED,
    S.CORRECTION_REQUESTED,
)
FINAL_STATES = frozenset(state for state, following in TRANSITIONS.items() if not following)

# How far a list has come. A receipt naming an earlier stage than the list's (a late 120 after
# 800) would move it backwards: it is recorded and changes nothing.
PROGRESS: Mapping[str, int] = {
    S.DRAFT: 0,
    S.PENDING_DOCUMENTS: 1,
    S.MATCH_FAILED: 1,
    S.MATCHED: 2,
    S.HELD: 2,
    S.RISK_REVIEW: 2,
    S.RISK_REJECTED: 1,
    S.RISK_BLOCKED: 1,
    S.CORRECTION_REQUESTED: 1,
    S.DECLARED: 3,
    S.SEND_FAILED: 3,
    S.ACCEPTED: 4,
    S.MANUAL_REVIEW: 5,
    S.INSPECTION: 5,
    S.DETAINED: 5,
    S.RELEASED: 6,
    S.REJECTED: 7,
    S.CLOSED: 7,
    S.CANCELLED: 7,
    S.RETURNED: 7,
    S.DELETED: 7,
}

# Customs list receipts (CEB622 returnStatus) and the state each one puts the list in; None for
# a receipt that is kept in the history but moves nothing. Negative codes (processing errors,
# section 7 of the specification) reject the list.
RECEIPT_STATES: Mapping[str, str | None] = {
    "1": None,  # stored by the e-port, not yet processed
    "2": S.DECLARED,  # declaring
    "3": S.DECLARED,  # sent to customs
    "4": S.SEND_FAILED,
    "100": S.REJECTED,
    "120": S.ACCEPTED,
    "300": S.MANUAL_REVIEW,
    "399": None,  # concluded (the review is over; the next receipt says how)
    "500": S.INSPECTION,
    "501": S.DETAINED,
    "502": S.DETAINED,
    "503": S.DETAINED,
    "599": S.DETAINED,
    "700": S.RETURNED,
    "800": S.RELEASED,
    "899": S.CLOSED,
}
PROCESSING_ERROR = receipt_codes.PROCESSING_ERROR
NEGATIVE_STATES: Mapping[receipt_codes.Effect, str | None] = {
    receipt_codes.Effect.HELD_BY_CUSTOMS: S.DECLARED,
    receipt_codes.Effect.RETRY: None,
    receipt_codes.Effect.FINAL: S.REJECTED,
    receipt_codes.Effect.MOVE: S.REJECTED,
}
# The states a receipt can put a list in: when receipts are lost or overtake each other, a
# receipt may skip over these (an 800 that arrives before its 120).
RECEIPT_TARGETS = frozenset(state for state in RECEIPT_STATES.values() if state is not None) | {S.REJECTED}


class TransitionNotAllowed(Conflict):
    """The lifecycle table does not allow the move from the list's state."""

    default_code = TRANSITION_NOT_ALLOWED

    def __init__(self, *, inventory_id: int | None, from_status: str, to_status: str) -> None:
        super().__init__(
            _("A declaration list in state %(from)s cannot move to %(to)s.") % {"from": from_status, "to": to_status},
            extra={"inventory_id": inventory_id, "from_status": from_status, "to_status": to_status},
        )


class UnknownReceiptCode(InvalidInput):
    """A receipt status customs does not define for declaration lists."""

    default_code = UNKNOWN_RECEIPT_CODE

    def __init__(self, code: str) -> None:
        super().__init__(
            _("%(code)s is not a customs receipt status of a declaration list.") % {"code": code},
            extra={"receipt_code": code},
        )


class ReceiptResult(enum.StrEnum):
    APPLIED = "applied"  # the list moved
    RECORDED = "recorded"  # kept; the list was already there, or the code moves nothing (1, 399)
    IGNORED = "ignored"  # kept with applied=False: backwards, or not a move the list's state allows
    DUPLICATE = "duplicate"  # recorded before; nothing written


@dataclass(frozen=True)
class ReceiptOutcome:
    result: ReceiptResult
    # The history row of this receipt; for a duplicate, the row recorded the first time.
    change: InventoryStatusChange
    # The list's status after the receipt.
    status: str
    # Why a receipt was ignored: "backwards" or "not_allowed".
    reason: str = ""


# --- The table ----------------------------------------------------------------------------------


def inventory_move_allowed(*, from_status: str, to_status: str) -> bool:
    """May a list in ``from_status`` end up in ``to_status``? Staying where it is is allowed."""
    return from_status == to_status or to_status in TRANSITIONS[from_status]


def receipt_state(code: str) -> str | None:
    """The state a CEB622 receipt status puts a list in (None: none). Raises ``UnknownReceiptCode``.

    Negative codes follow ``customs.receipt_codes``: customs holding the list leaves it declared,
    a request to send again moves nothing (the gateway resends), and only a final refusal
    rejects it.
    """
    if code in RECEIPT_STATES:
        return RECEIPT_STATES[code]
    if PROCESSING_ERROR.fullmatch(code):
        return NEGATIVE_STATES[receipt_codes.effect(code)]
    raise UnknownReceiptCode(code)


def _reachable_through_receipts(start: str, target: str) -> bool:
    """Can receipts take a list from ``start`` to ``target``, some of them lost on the way?"""
    seen, frontier = {start}, [start]
    while frontier:
        state = frontier.pop()
        for following in TRANSITIONS[state] & RECEIPT_TARGETS:
            if following == target:
                return True
            if following not in seen:
                seen.add(following)
                frontier.append(following)
    return False


def receipt_decision(*, current: str, target: str | None) -> tuple[ReceiptResult, str]:
    """What a receipt naming ``target`` does to a list in ``current``: a result and a reason.

    1. No state (1, 399), or the state the list is in: recorded.
    2. An earlier stage than the list's: ignored as backwards.
    3. A move of the table, or one whose intermediate receipts were lost or are late: applied.
    4. Anything else (a list never sent, a final one): ignored as not allowed.
    """
    if target is None or target == current:
        return ReceiptResult.RECORDED, ""
    if current in NOT_SENT:
        # Customs has nothing of this version yet: a receipt is a late one of an earlier version.
        return ReceiptResult.IGNORED, "not_allowed"
    if PROGRESS[target] < PROGRESS[current]:
        return ReceiptResult.IGNORED, "backwards"
    if target in TRANSITIONS[current] or _reachable_through_receipts(current, target):
        return ReceiptResult.APPLIED, ""
    return ReceiptResult.IGNORED, "not_allowed"


# --- Services -----------------------------------------------------------------------------------


def _check(value: str, allowed: Iterable[str], what: str) -> None:
    if value not in allowed:
        msg = f"{value!r} is not a {what}"
        raise ValueError(msg)


def _lock(inventory: Inventory) -> Inventory:
    # With its sender, whom the list's events are told to (only the list's row is locked).
    return Inventory.objects.select_related("sender").select_for_update(of=("self",)).get(pk=inventory.pk)


def _set_status(locked: Inventory, to: str, *, inventory: Inventory) -> None:
    from_status = locked.status
    locked.status = to
    locked.save(update_fields=["status", "updated_at"])
    # The buyer's quota follows the list: consumed at release, given back if it never clears.
    quotas.quota_on_status(inventory=locked, status=to)
    # So do the declare step's systems (a guarantee, bonded stock): consumed or released.
    reservations.systems_follow(inventory=locked, status=to)
    events.inventory_status_changed(inventory=locked, from_status=from_status, to_status=to)
    _mirror(locked, inventory)


def _mirror(locked: Inventory, inventory: Inventory) -> None:
    """Keep the caller's instance in step with the row."""
    inventory.status = locked.status
    inventory.updated_at = locked.updated_at


def inventory_create(
    *,
    inventory: Inventory,
    status: str,
    source: str,
    note: str = "",
    note_code: str = "",
    note_params: Mapping[str, Any] | None = None,
) -> InventoryStatusChange:
    """Insert a new (unsaved) list in its first state and record that state.

    ``status`` is draft or pending_documents; the insert's ``IntegrityError`` (a business key
    taken) reaches the caller with nothing written. Runs in the caller's transaction.
    """
    if inventory.pk is not None:
        msg = "inventory_create stores a new list; use inventory_transition for a stored one"
        raise ValueError(msg)
    _check(source, StatusChangeSource.values, "status change source")
    if status not in ENTRY_STATES:
        raise TransitionNotAllowed(inventory_id=None, from_status="", to_status=status)
    # The insert is the first write: when it fails, nothing was written.
    inventory.status = status
    inventory.save()
    events.inventory_status_changed(inventory=inventory, from_status="", to_status=status)
    return row_insert(
        InventoryStatusChange(
            inventory=inventory,
            from_status="",
            to_status=status,
            source=source,
            note=note[:500],
            note_code=note_code,
            note_params=dict(note_params or {}),
        )
    )


def inventory_transition(
    *,
    inventory: Inventory,
    to: str,
    source: str,
    note: str = "",
    note_code: str = "",
    note_params: Mapping[str, Any] | None = None,
    locked: bool = False,
) -> InventoryStatusChange | None:
    """Move a list as the single window or its enterprise decides; customs moves it by receipts.

    ``note`` is the English text of the row's note; ``note_code`` and ``note_params`` (one of
    ``declarations.clearance.notes``) let a page show it in the reader's language.

    ``locked``: the caller read ``inventory`` under its row lock in this transaction
    (``select_for_update``) and kept the instance in step since: the row is not read again.

    Returns the history row (inserted at the end of a ``core.deferred.rows_deferred`` block
    inside one), or None when the list is in ``to`` already. Raises ``TransitionNotAllowed``
    for a move the table forbids. ``inventory`` is updated in place.
    """
    _check(to, InventoryStatus.values, "list status")
    _check(source, StatusChangeSource.values, "status change source")
    if source == StatusChangeSource.CUSTOMS_RECEIPT:
        msg = "customs receipts go through inventory_apply_receipt"
        raise ValueError(msg)
    # Inside a caller's transaction, no savepoint of its own (a list moves a few times as it
    # is matched, and each savepoint is two more round trips): a refused move is raised after
    # the block, having written nothing, so the caller's transaction goes on.
    with transaction.atomic(savepoint=False):
        row = inventory if locked else _lock(inventory)
        current = row.status
        if current == to:
            _mirror(row, inventory)
            return None
        if to in TRANSITIONS[current]:
            _set_status(row, to, inventory=inventory)
            return row_insert(
                InventoryStatusChange(
                    inventory=row,
                    from_status=current,
                    to_status=to,
                    source=source,
                    note=note[:500],
                    note_code=note_code,
                    note_params=dict(note_params or {}),
                )
            )
    raise TransitionNotAllowed(inventory_id=row.pk, from_status=current, to_status=to)


def _recorded(
    inventory: Inventory, code: str, receipt_time: datetime.datetime, message_id: str
) -> InventoryStatusChange | None:
    same = Q(receipt_code=code, receipt_time=receipt_time)
    if message_id:
        same |= Q(message_id=message_id)
    return InventoryStatusChange.objects.filter(same, inventory=inventory).order_by("created_at", "id").first()


def inventory_apply_receipt(
    *,
    inventory: Inventory,
    receipt_code: str,
    receipt_time: datetime.datetime,
    message_id: str,
    note: str = "",
    moves: bool = True,
) -> ReceiptOutcome:
    """Record a customs receipt (CEB622) of the list and apply it where the lifecycle allows.

    ``receipt_code`` is the receipt's returnStatus, ``receipt_time`` its returnTime (aware),
    ``message_id`` the receipt message's guid, ``note`` its returnInfo. ``moves=False``: the
    receipt speaks of the message the list went in, not of the list (customs refused a message
    of several lists as a whole, and the gateway sends the list again alone): it is recorded
    and moves nothing. Raises ``UnknownReceiptCode`` (nothing recorded) for a status customs
    does not define. ``inventory`` is updated in place.
    """
    code = receipt_code.strip()
    target = receipt_state(code)  # an unknown code raises, moving or not
    if not moves:
        target = None
    if timezone.is_naive(receipt_time):
        msg = "receipt_time must be timezone-aware"
        raise ValueError(msg)
    # No savepoint of its own (nothing in it is refused after a write): a message's receipts
    # are many, and each savepoint is two round trips.
    with transaction.atomic(savepoint=False):
        locked = _lock(inventory)
        current = locked.status
        # Under the row lock, a receipt recorded by another transaction is visible here.
        first = _recorded(locked, code, receipt_time, message_id)
        if first is not None:
            _mirror(locked, inventory)
            return ReceiptOutcome(result=ReceiptResult.DUPLICATE, change=first, status=current)
        result, reason = receipt_decision(current=current, target=target)
        try:
            with transaction.atomic():
                change = InventoryStatusChange.objects.create(
                    inventory=locked,
                    from_status=current,
                    to_status=target or current,
                    source=StatusChangeSource.CUSTOMS_RECEIPT,
                    receipt_code=code,
                    receipt_time=receipt_time,
                    message_id=message_id,
                    note=note[:500],
                    applied=result is not ReceiptResult.IGNORED,
                )
        except IntegrityError:
            # The constraints back up the check above.
            first = _recorded(locked, code, receipt_time, message_id)
            if first is None:
                raise
            _mirror(locked, inventory)
            return ReceiptOutcome(result=ReceiptResult.DUPLICATE, change=first, status=current)
        if result is ReceiptResult.APPLIED and target is not None:
            _set_status(locked, target, inventory=inventory)
        else:
            _mirror(locked, inventory)
        return ReceiptOutcome(result=result, change=change, status=locked.status, reason=reason)


def inventory_history(*, inventory: Inventory) -> QuerySet[InventoryStatusChange]:
    """Every move and receipt of the list, in the order they were recorded."""
    return InventoryStatusChange.objects.filter(inventory=inventory).order_by("created_at", "id")
