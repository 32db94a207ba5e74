"""One history per document, for the admin's History page and the list's own page.

A list's history is its moves and customs receipts (``InventoryStatusChange``, notes in the
reader's language) and what people did with it (the audit log: regulators' actions, personal
data shown); an order's, payment's or waybill's is its versions, customs' last answer and the
audit log. Django's own admin log is not used: regulators change no document, so it is empty.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from django.utils.translation import gettext

from core.models import AuditEntry
from declarations.clearance import history_notes
from declarations.models import Declaration, Inventory, InventoryStatusChange


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime.datetime
    what: str
    by: str
    detail: str = ""
    # The list's history row behind the entry, if it is one.
    change: InventoryStatusChange | None = None


def _status_entry(change: InventoryStatusChange) -> HistoryEntry:
    to = change.get_to_status_display()
    if change.from_status and change.from_status != change.to_status:
        what = f"{change.get_from_status_display()} → {to}"
    else:
        what = str(to)
    if change.receipt_code:
        what = gettext("customs receipt %(code)s: %(status)s") % {"code": change.receipt_code, "status": what}
        if not change.applied:
            what = gettext("%(receipt)s (recorded, not applied)") % {"receipt": what}
    return HistoryEntry(
        at=change.created_at,
        what=what,
        by=str(change.get_source_display()),
        detail=history_notes.note_display(change),
        change=change,
    )


def _audit_entry(entry: AuditEntry) -> HistoryEntry:
    if entry.action == AuditEntry.Action.UNMASK:
        fields = (entry.after or {}).get("fields") or []
        what = gettext("personal data shown")
        detail = ", ".join(str(field) for field in fields)
    else:
        what = str(entry.get_action_display())
        detail = ""
    if entry.reason:
        detail = f"{detail}; {entry.reason}" if detail else entry.reason
    return HistoryEntry(at=entry.at, what=what, by=entry.actor, detail=detail)


def _document_entries(document: Declaration) -> list[HistoryEntry]:
    sender = str(document.sender)
    entries = [
        HistoryEntry(
            at=document.created_at,
            what=gettext("received from the enterprise"),
            by=sender,
        )
    ]
    if document.version > 1:
        entries.append(
            HistoryEntry(
                at=document.updated_at,
                what=gettext("version %(version)s received") % {"version": document.version},
                by=sender,
            )
        )
    status: Any = getattr(document, "customs_status", "")
    if status:
        entries.append(
            HistoryEntry(
                at=document.updated_at,
                what=gettext("customs' last receipt: %(code)s") % {"code": status},
                by=gettext("customs"),
                detail=str(getattr(document, "customs_note", "")),
            )
        )
    return entries


def document_history(document: Model) -> list[HistoryEntry]:
    """Everything recorded about ``document`` (a list, another document, or a row that goes
    with one), oldest first."""
    entries: list[HistoryEntry] = []
    if isinstance(document, Inventory):
        entries = [
            _status_entry(change)
            for change in InventoryStatusChange.objects.filter(inventory=document).order_by("created_at", "id")
        ]
    elif isinstance(document, Declaration):
        entries = _document_entries(document)
    elif isinstance(getattr(document, "created_at", None), datetime.datetime):
        entries = [HistoryEntry(at=document.created_at, what=gettext("recorded"), by="")]  # type: ignore[attr-defined]
    label = document._meta.concrete_model._meta.label_lower  # type: ignore[union-attr]
    audit = AuditEntry.objects.filter(object_type=label, object_id=str(document.pk))
    entries += [_audit_entry(entry) for entry in audit.order_by("at", "id")]
    return sorted(entries, key=lambda entry: entry.at)
