"""The one place that decides an export list's status.

Nothing else assigns ``ExportList.status``. Three ways in, each under the list's row lock:

- ``export_list_create``: a new list in its first state (draft, or waiting for documents);
- ``export_list_transition``: the single window's own moves (a change or deletion, matching,
  the declare step, sending), checked against ``TRANSITIONS``;
- ``export_list_apply_receipt``: a customs receipt (CEB604), by the table of
  ``declarations.export.receipt_codes``. Every receipt is kept in the history; one that would
  move the list backwards is recorded with ``applied`` False, and the same receipt twice (same
  code and returnTime) is recorded once.

Every move publishes ``export_list.status_changed`` to the list's declaring agent and its
e-commerce enterprise.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict
from declarations.export import events, receipt_codes, stock
from declarations.export.receipt_codes import Effect
from declarations.models import ExportList, ExportListStatus, ExportListStatusChange

S = ExportListStatus
TRANSITION_NOT_ALLOWED = "export_transition_not_allowed"

SINGLE_WINDOW = "single_window"
CUSTOMS_RECEIPT = "customs_receipt"
ENTERPRISE = "enterprise"


def _states(*states: str) -> frozenset[str]:
    return frozenset(states)


# The lifecycle table: from each state, the states a list may move to.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    S.DRAFT: _states(S.PENDING_DOCUMENTS, S.DRAFT, S.DELETED),
    S.PENDING_DOCUMENTS: _states(S.MATCHED, S.MATCH_FAILED, S.PENDING_DOCUMENTS, S.DRAFT, S.DELETED),
    # A change (appType 2) goes back to waiting and re-runs the checks.
    S.MATCH_FAILED: _states(S.PENDING_DOCUMENTS, S.MATCH_FAILED, S.MATCHED, S.DRAFT, S.DELETED),
    # The declare step sends it (declared) or finds what changed since (failed, waiting).
    S.MATCHED: _states(S.DECLARED, S.MATCH_FAILED, S.PENDING_DOCUMENTS, S.DRAFT, S.DELETED),
    # Customs may answer any step first: its receipts come as they come.
    S.DECLARED: _states(S.ACCEPTED, S.REJECTED, S.SEND_FAILED, S.MANUAL_REVIEW, S.INSPECTION, S.CONCLUDED, S.RELEASED),
    # Customs took it after all (a late receipt), or the enterprise changes or deletes it.
    S.SEND_FAILED: _states(S.DECLARED, S.ACCEPTED, S.REJECTED, S.PENDING_DOCUMENTS, S.DRAFT, S.DELETED),
    S.ACCEPTED: _states(S.MANUAL_REVIEW, S.INSPECTION, S.CONCLUDED, S.RELEASED, S.REJECTED),
    S.MANUAL_REVIEW: _states(S.INSPECTION, S.CONCLUDED, S.RELEASED, S.REJECTED),
    S.INSPECTION: _states(S.MANUAL_REVIEW, S.CONCLUDED, S.RELEASED, S.REJECTED),
    S.CONCLUDED: _states(S.INSPECTION, S.RELEASED, S.REJECTED),
    # Summarised into a customs declaration (CEB701), closed by customs, or cancelled (CEB605).
    S.RELEASED: _states(S.SUMMARISED, S.CLOSED, S.CANCELLED),
    S.SUMMARISED: _states(S.CLOSED),
    # Final for customs; the declaring agent may change the list and declare a new version.
    S.REJECTED: _states(S.PENDING_DOCUMENTS, S.DRAFT, S.DELETED),
    S.CLOSED: _states(),
    S.CANCELLED: _states(),
    S.DELETED: _states(),
}


def move_allowed(*, from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


class TransitionNotAllowed(Conflict):
    default_code = TRANSITION_NOT_ALLOWED


def _record(
    export_list: ExportList,
    *,
    from_status: str,
    to_status: str,
    source: str,
    note: str = "",
    receipt_code: str = "",
    receipt_time: datetime.datetime | None = None,
    message_id: str = "",
    applied: bool = True,
) -> None:
    ExportListStatusChange.objects.create(
        export_list=export_list,
        from_status=from_status,
        to_status=to_status,
        source=source,
        note=note[:1000],
        receipt_code=receipt_code,
        receipt_time=receipt_time,
        message_id=message_id[:36],
        applied=applied,
    )


def export_list_create(*, export_list: ExportList, status: str, source: str = ENTERPRISE, note: str = "") -> None:
    """Store a new list in its first state and record it."""
    export_list.status = status
    export_list.save()
    _record(export_list, from_status="", to_status=status, source=source, note=note)
    events.export_list_status_changed(export_list=export_list, from_status="", to_status=status)


@transaction.atomic
def export_list_transition(
    *, export_list: ExportList, to: str, source: str = SINGLE_WINDOW, note: str = "", fields: Mapping[str, object] = {}
) -> ExportList:
    """Move the list (locked) to ``to``; ``TransitionNotAllowed`` (409) when the table forbids it.
    ``fields``: other columns written with the move."""
    locked = ExportList.objects.select_for_update().get(pk=export_list.pk)
    from_status = locked.status
    if not move_allowed(from_status=from_status, to_status=to):
        raise TransitionNotAllowed(
            _("An export list in %(state)s can't move to %(to)s.") % {"state": from_status, "to": to},
            extra={"status": from_status},
        )
    update = {"status": to, **fields}
    ExportList.objects.filter(pk=locked.pk).update(**update)
    for name, value in update.items():
        setattr(export_list, name, value)
    if from_status != to:
        _record(locked, from_status=from_status, to_status=to, source=source, note=note)
        stock.after_move(export_list=export_list, to_status=to)
        events.export_list_status_changed(export_list=export_list, from_status=from_status, to_status=to)
    return export_list


@dataclass(frozen=True)
class ReceiptOutcome:
    applied: bool
    duplicate: bool
    from_status: str
    to_status: str


@transaction.atomic
def export_list_apply_receipt(
    *,
    export_list: ExportList,
    code: str,
    info: str,
    receipt_time: datetime.datetime,
    message_id: str = "",
    invt_no: str = "",
    pre_no: str = "",
) -> ReceiptOutcome:
    """Apply one CEB604 return to the list (locked): record it, move the list as the table says
    when the lifecycle allows, keep customs' numbers (preNo, invtNo) and its last code."""
    locked = ExportList.objects.select_for_update().get(pk=export_list.pk)
    from_status = locked.status
    try:
        _effect, target = receipt_codes.effect(code)
    except receipt_codes.UnknownReceiptCode:
        _effect, target = Effect.CONFIRM, ""
    to_status = target or from_status
    applied = to_status == from_status or move_allowed(from_status=from_status, to_status=to_status)
    if not applied:
        to_status = from_status
    try:
        with transaction.atomic():
            _record(
                locked,
                from_status=from_status,
                to_status=to_status,
                source=CUSTOMS_RECEIPT,
                note=info or receipt_codes.meaning(code),
                receipt_code=code[:10],
                receipt_time=receipt_time,
                message_id=message_id,
                applied=applied,
            )
    except IntegrityError:
        return ReceiptOutcome(applied=False, duplicate=True, from_status=from_status, to_status=from_status)
    update: dict[str, object] = {"customs_status": code[:10], "customs_note": (info or "")[:1000]}
    update["customs_answered_at"] = receipt_time
    if invt_no and not locked.invt_no:
        update["invt_no"] = invt_no[:20]
    if pre_no and not locked.pre_no:
        update["pre_no"] = pre_no[:18]
    if applied:
        update["status"] = to_status
    ExportList.objects.filter(pk=locked.pk).update(**update)
    for name, value in update.items():
        setattr(export_list, name, value)
    if applied and to_status != from_status:
        stock.after_move(export_list=export_list, to_status=to_status)
        events.export_list_status_changed(export_list=export_list, from_status=from_status, to_status=to_status)
    return ReceiptOutcome(applied=applied, duplicate=False, from_status=from_status, to_status=to_status)
