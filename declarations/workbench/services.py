"""What a regulator does to declaration lists from the admin: notes, assignments, holds and
their release, returns for correction, and matching run again.

Every action:

1. is taken by a user holding ``ACT_PERMISSION`` (customs officers; the commerce bureau and
   auditors change nothing), on lists all in the user's scope (``single_window.scope``): one
   list out of scope refuses the whole action;
2. needs a reason (for a note, its text), and changes nothing without one;
3. takes its lists' row locks, in id order, checks each one may take the action (a list that
   has reached customs can't be held or returned), and refuses the whole action if one can't:
   nothing is half done;
4. writes its effect and its ``WorkbenchAction`` (who, when, what, why, which lists) in one
   transaction.

A hold keeps a list from customs: the gateway (``customs.gateway``) sends no list with a hold
in force. Released, a declared list that has not left is marked for the gateway again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, PermissionsMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.audit import Actor
from declarations import events, kinds
from declarations.clearance import lifecycle, matching, parcels
from declarations.customs import gateway
from declarations.models import (
    INVENTORY_DECLARED_STATES,
    CustomsMessageDocument,
    Inventory,
    InventoryStatus,
    ListAssignment,
    ListHold,
    ListNote,
    StatusChangeSource,
    WorkbenchAction,
    WorkbenchActionKind,
)
from single_window.scope import Scope, scoped

# The right to act on lists; customs officers hold it (declarations.roles).
ACT_PERMISSION = "declarations.add_workbenchaction"

S = InventoryStatus
# Lists that may be held or returned for correction whatever else: no message of their
# current version has gone to customs (a list declared but not yet packed is checked apart).
BEFORE_CUSTOMS = frozenset(
    {S.PENDING_DOCUMENTS, S.MATCH_FAILED, S.MATCHED, S.HELD, S.RISK_REVIEW, S.SEND_FAILED, S.DRAFT}
)
# A return for correction ends the list's run: a draft has nothing to return.
RETURNABLE = BEFORE_CUSTOMS - {S.DRAFT}
# A list in one of these states has reached customs (a declared one once it is packed).
REACHED_CUSTOMS = INVENTORY_DECLARED_STATES | {S.REJECTED}
# Matching is run again on lists that wait for documents or failed it.
REMATCHABLE = frozenset({S.PENDING_DOCUMENTS, S.MATCH_FAILED})

# Why an action was refused (stable: tests and the admin's messages name them).
REASON_REQUIRED = "reason_required"
NO_LISTS = "no_lists"
AT_CUSTOMS = "list_at_customs"
WRONG_STATE = "list_state_not_allowed"
NOT_HELD = "list_not_held"
ALREADY_HELD = "list_already_held"
NOT_REMATCHABLE = "list_not_rematchable"
ASSIGNEE_NOT_ALLOWED = "assignee_not_allowed"

User = AbstractBaseUser | AnonymousUser


class ActionRefused(Exception):
    """The action can't be taken; nothing was changed. ``lists`` names the lists concerned."""

    def __init__(self, message: str, *, code: str, lists: Sequence[Inventory] = ()) -> None:
        names = ", ".join(str(inventory) for inventory in lists)
        super().__init__(f"{message} ({names})" if names else message)
        self.code = code
        self.lists = list(lists)


@dataclass(frozen=True)
class Outcome:
    action: WorkbenchAction
    lists: list[Inventory]


def may_act(user: User) -> bool:
    return isinstance(user, PermissionsMixin) and user.is_active and user.has_perm(ACT_PERMISSION)


def _user_id(user: User) -> int:
    """Step 1: the id of a user who may act (PermissionDenied for anyone else)."""
    if not may_act(user) or user.pk is None:
        raise PermissionDenied(gettext("Your group may not act on declaration lists."))
    return int(user.pk)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused(gettext("A reason is required."), code=REASON_REQUIRED)
    return reason


def _locked_lists(user: User, inventory_ids: Iterable[int]) -> list[Inventory]:
    """Steps 1 and 3: the lists, all in the user's scope, locked in id order."""
    _user_id(user)
    ids = sorted(set(inventory_ids))
    if not ids:
        raise ActionRefused(gettext("Select at least one list."), code=NO_LISTS)
    in_scope = set(scoped(Inventory.objects.filter(pk__in=ids), Scope.of(user)).values_list("pk", flat=True))
    if in_scope != set(ids):
        # Said the same way whether the list exists or not.
        raise PermissionDenied(gettext("A selected list is outside your districts and parks."))
    return list(Inventory.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def _record(user: User, kind: str, reason: str, lists: list[Inventory], detail: dict[str, Any]) -> WorkbenchAction:
    actor = admin_actor_of(user)
    action = WorkbenchAction.objects.create(
        actor=actor.label[:200], user_id=_user_id(user), action=kind, reason=reason[:1000], detail=detail
    )
    action.lists.set(lists)
    return action


def admin_actor_of(user: User) -> Actor:
    """The audit label of a regulator acting in the admin, as ``core.admin.admin_actor`` writes it."""
    return Actor(label=f"admin:{user.get_username()}", user_id=user.pk)


def sent_to_customs(inventory: Inventory) -> bool:
    """Has the list's current version reached customs: packed into a message of the outbox, or
    moved past declared (a receipt)?"""
    if inventory.status == S.DECLARED:
        return CustomsMessageDocument.objects.filter(inventory=inventory, version=inventory.version).exists()
    return inventory.status in REACHED_CUSTOMS


def _refuse_late(lists: list[Inventory], allowed: frozenset[str], what: str) -> None:
    """Refuse the action when a list reached customs, or is in a state it does not apply to."""
    late = [i for i in lists if sent_to_customs(i)]
    if late:
        raise ActionRefused(
            gettext("A list that has reached customs can't be %(what)s.") % {"what": what}, code=AT_CUSTOMS, lists=late
        )
    wrong = [i for i in lists if i.status not in allowed and i.status != S.DECLARED]
    if wrong:
        raise ActionRefused(
            gettext("A list in this state can't be %(what)s.") % {"what": what}, code=WRONG_STATE, lists=wrong
        )


def _held(lists: list[Inventory]) -> dict[int, ListHold]:
    holds = ListHold.objects.select_for_update().filter(inventory__in=lists, released_at__isnull=True)
    return {hold.inventory_id: hold for hold in holds}


# --- The actions ----------------------------------------------------------------------------------


def lists_note(*, user: User, inventory_ids: Iterable[int], text: str) -> Outcome:
    """A note on each list; its text is the reason in the audit trail."""
    text = _reason(text)
    with transaction.atomic():
        lists = _locked_lists(user, inventory_ids)
        ListNote.objects.bulk_create([ListNote(inventory=i, author_id=_user_id(user), text=text[:1000]) for i in lists])
        return Outcome(_record(user, WorkbenchActionKind.NOTE, text, lists, {}), lists)


def assignable(user: User, lists: Sequence[Inventory]) -> bool:
    """May ``user`` be given these lists: an active regulator who may act, with each in scope."""
    if not may_act(user) or not getattr(user, "is_staff", False):
        return False
    ids = {i.pk for i in lists}
    return set(scoped(Inventory.objects.filter(pk__in=ids), Scope.of(user)).values_list("pk", flat=True)) == ids


def lists_assign(*, user: User, inventory_ids: Iterable[int], assignee: User, reason: str) -> Outcome:
    """Give each list to ``assignee`` (another regulator who may act on it); the current
    assignment ends."""
    reason = _reason(reason)
    with transaction.atomic():
        lists = _locked_lists(user, inventory_ids)
        if not assignable(assignee, lists):
            raise ActionRefused(
                gettext("The colleague must be a regulator who may act on every selected list."),
                code=ASSIGNEE_NOT_ALLOWED,
            )
        ListAssignment.objects.filter(inventory__in=lists, ended_at__isnull=True).update(ended_at=timezone.now())
        assignee_id, user_id = _user_id(assignee), _user_id(user)
        ListAssignment.objects.bulk_create(
            [ListAssignment(inventory=i, assignee_id=assignee_id, assigned_by_id=user_id, reason=reason) for i in lists]
        )
        detail = {"assignee": assignee.get_username(), "assignee_id": assignee_id}
        return Outcome(_record(user, WorkbenchActionKind.ASSIGN, reason, lists, detail), lists)


def lists_hold(*, user: User, inventory_ids: Iterable[int], reason: str) -> Outcome:
    """Hold each list before it reaches customs: the gateway does not send it while the hold is
    in force. A list already sent to customs, or held already, refuses the action."""
    reason = _reason(reason)
    with transaction.atomic():
        lists = _locked_lists(user, inventory_ids)
        _refuse_late(lists, BEFORE_CUSTOMS, gettext("held"))
        held = _held(lists)
        already = [i for i in lists if i.pk in held]
        if already:
            raise ActionRefused(gettext("A list is held already."), code=ALREADY_HELD, lists=already)
        ListHold.objects.bulk_create([ListHold(inventory=i, held_by_id=_user_id(user), reason=reason) for i in lists])
        detail = {"statuses": {str(i.pk): i.status for i in lists}}
        return Outcome(_record(user, WorkbenchActionKind.HOLD, reason, lists, detail), lists)


def lists_release(*, user: User, inventory_ids: Iterable[int], reason: str) -> Outcome:
    """Release each list's hold: a declared list that has not left is marked for the gateway
    again and sent; any other goes on as it would have."""
    reason = _reason(reason)
    with transaction.atomic():
        lists = _locked_lists(user, inventory_ids)
        holds = _held(lists)
        free = [i for i in lists if i.pk not in holds]
        if free:
            raise ActionRefused(gettext("A list has no hold in force."), code=NOT_HELD, lists=free)
        now = timezone.now()
        for hold in holds.values():
            hold.released_at, hold.released_by_id, hold.release_reason = now, _user_id(user), reason
            hold.save(update_fields=["released_at", "released_by", "release_reason"])
        sent_on: list[int] = []
        for inventory in lists:
            if inventory.status == S.DECLARED and not sent_to_customs(inventory):
                gateway.document_mark(kind=kinds.INVENTORY, document=inventory)
                sent_on.append(inventory.pk)
        return Outcome(_record(user, WorkbenchActionKind.RELEASE, reason, lists, {"dispatched": sent_on}), lists)


def lists_return_for_correction(*, user: User, inventory_ids: Iterable[int], reason: str) -> Outcome:
    """Return each list to its enterprise before it reaches customs: ``correction_requested``
    (what it reserved, quota and systems', is released), and its parties hear of it with the
    reason (``inventory.returned_for_correction``). The enterprise sends a change (appType 2)."""
    reason = _reason(reason)
    with transaction.atomic():
        lists = _locked_lists(user, inventory_ids)
        _refuse_late(lists, RETURNABLE, gettext("returned for correction"))
        statuses = {str(i.pk): i.status for i in lists}
        actor = admin_actor_of(user)
        for inventory in lists:
            if inventory.dispatch_requested_at is not None:
                Inventory.objects.filter(pk=inventory.pk).update(dispatch_requested_at=None)
                inventory.dispatch_requested_at = None
            lifecycle.inventory_transition(
                inventory=inventory,
                to=S.CORRECTION_REQUESTED,
                source=StatusChangeSource.SINGLE_WINDOW,
                note=f"returned for correction by {actor.label}: {reason}"[:500],
            )
            events.inventory_returned_for_correction(inventory=inventory, reason=reason)
        return Outcome(
            _record(user, WorkbenchActionKind.RETURN_FOR_CORRECTION, reason, lists, {"statuses": statuses}), lists
        )


def lists_rematch(*, user: User, inventory_ids: Iterable[int], reason: str) -> Outcome:
    """Run matching again on lists waiting for documents or that failed it (a reference table
    or an appointment may have changed since): each may match and be declared, or fail again."""
    reason = _reason(reason)
    with transaction.atomic():
        lists = _locked_lists(user, inventory_ids)
        stuck = [i for i in lists if i.status not in REMATCHABLE]
        if stuck:
            raise ActionRefused(
                gettext("Matching runs again only on lists waiting for documents or that failed it."),
                code=NOT_REMATCHABLE,
                lists=stuck,
            )
        before = {str(i.pk): i.status for i in lists}
        for inventory in lists:
            # The parcel's locks, as when a document of it arrives (matching's contract).
            parcels.parcel_lock(kinds.INVENTORY, {f: getattr(inventory, f) for f in _PARCEL_FIELDS})
            locked = Inventory.objects.select_for_update().prefetch_related("items").get(pk=inventory.pk)
            matching.inventory_match(inventory=locked)
            inventory.status = locked.status
        after = {str(i.pk): i.status for i in lists}
        return Outcome(
            _record(user, WorkbenchActionKind.REMATCH, reason, lists, {"before": before, "after": after}), lists
        )


_PARCEL_FIELDS = ("ebp_code", "order_no", "logistics_code", "logistics_no")

# The admin's actions, by kind: the service each calls with the form's values.
SERVICES: dict[str, Callable[..., Outcome]] = {
    WorkbenchActionKind.NOTE: lists_note,
    WorkbenchActionKind.ASSIGN: lists_assign,
    WorkbenchActionKind.HOLD: lists_hold,
    WorkbenchActionKind.RELEASE: lists_release,
    WorkbenchActionKind.RETURN_FOR_CORRECTION: lists_return_for_correction,
    WorkbenchActionKind.REMATCH: lists_rematch,
}
