"""Intake of the export documents: new versions, changes, deletions; and cancellations.

``export_document_submit`` is the one entry for JSON and XML alike:

1. party codes are normalised (an enterprise named by its USCC is stored under its code);
2. the sender must be the party the document names in its sending role (``rules``), before
   anything about the business key is told;
3. the parcel's advisory locks, then the key's row lock: a change or deletion comes from the
   stored document's own sender party, is newer (appTime) and allowed in its state;
4. the document's own checks against the others of its parcel that refuse it outright (a list
   for a departed or summarised parcel; a departure of a parcel that has not arrived or whose
   list customs has not released);
5. the version is stored (a change replaces the row by its business key, version + 1),
   audited, announced (``export.document_accepted``), and a declared version is handed to the
   gateway; a list is checked against its order, payment receipt and waybill
   (``declarations.export.checks``) and, once they hold, declared.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils.translation import gettext_lazy as _

from core import errors
from core.audit import Actor, audit_record, snapshot
from core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFoundError
from core.models import AuditEntry
from declarations.export import checks, codes, events, gateway, lifecycle, rules
from declarations.export.kinds import LIST, ExportKind
from declarations.intake import rules as intake_rules
from declarations.intake.amounts import amount_scale
from declarations.models import (
    EXPORT_LIST_DECLARED_STATES,
    Declaration,
    DocumentStatus,
    ExportList,
    ExportListCancellation,
    ExportListStatus,
)
from single_window.models import Enterprise, InboundMessage

COLUMN_SCALE = Decimal("0.00001")
AUDIT_ACTIONS = {"1": AuditEntry.Action.CREATE, "2": AuditEntry.Action.UPDATE, "3": AuditEntry.Action.DELETE}
# A list changed or deleted by its agent: only before customs has it, or after customs refused it.
LIST_CHANGEABLE = frozenset(
    {
        ExportListStatus.DRAFT,
        ExportListStatus.PENDING_DOCUMENTS,
        ExportListStatus.MATCH_FAILED,
        ExportListStatus.MATCHED,
        ExportListStatus.SEND_FAILED,
        ExportListStatus.REJECTED,
    }
)
# A list customs released may be cancelled (CEB605); once summarised or closed it may not.
CANCELLABLE = frozenset({ExportListStatus.RELEASED})


class ExportConflict(Conflict):
    """A 409 that names customs' code for the same refusal where there is one."""

    def __init__(self, kind: ExportKind, code: str, detail: Any, *, existing_id: int | None = None) -> None:
        extra: dict[str, Any] = {}
        if existing_id is not None:
            extra["existing_id"] = existing_id
        if code in kind.customs_codes:
            extra["customs_code"] = kind.customs_codes[code]
        super().__init__(detail, code=code, extra=extra)


class ExportDocumentNotFound(NotFoundError):
    """A change or deletion of a key that isn't there or the sender may not see: one answer for
    both, so it never tells whether someone else's document exists."""

    def __init__(self, kind: ExportKind) -> None:
        customs = kind.customs_codes.get(errors.NOT_FOUND)
        super().__init__(
            _("There is no document with this business key that you may change or delete."),
            extra={"customs_code": customs} if customs else None,
        )


@dataclass(frozen=True)
class SubmitResult:
    document: Declaration
    created: bool


def _lock(kind: ExportKind, data: dict[str, Any]) -> None:
    """Serialise the documents of one parcel (and one waybill number) until the transaction ends."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for name, (first, second) in kind.locks:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{name}:{data[first]}:{data[second]}"]
            )


def _live(kind: ExportKind, data: dict[str, Any]) -> models.QuerySet[Any]:
    first, second = kind.business_key
    manager: Any = kind.model._default_manager
    queryset: models.QuerySet[Any] = manager.filter(**{first: data[first], second: data[second]})
    return queryset.exclude(status=DocumentStatus.DELETED)


def visible_to(kind: ExportKind, enterprise: Enterprise) -> models.QuerySet[Any]:
    """What ``enterprise`` sent, and what names it as a party; nothing else."""
    own = [code for code in (enterprise.customs_code, enterprise.uscc) if code]
    named = models.Q(sender=enterprise)
    for field in kind.party_fields:
        named |= models.Q(**{f"{field}__in": own})
    manager: Any = kind.model._default_manager
    queryset: models.QuerySet[Any] = manager.filter(named)
    return queryset


def _refuse(problems: list[FieldError]) -> None:
    if not problems:
        return
    if any(p.code == codes.EXPORT_SENDER_NOT_PARTY for p in problems):
        raise Forbidden(
            _("An enterprise sends a document only under its own code, in the role the document names."),
            code=codes.EXPORT_SENDER_NOT_PARTY,
            errors=problems,
        )
    raise InvalidInput(_("The document breaks the single window's rules."), errors=problems)


def _check_stored_sender(kind: ExportKind, existing: Declaration | None, sender: Enterprise) -> Declaration:
    """A change or deletion comes from the party that sends such a document for the stored one
    (or the enterprise that sent it); anyone else: 404 if it may not see it, else 403."""
    if existing is None:
        raise ExportDocumentNotFound(kind)
    if existing.sender_id == sender.pk or rules.sender_field(kind, existing, sender) is not None:
        return existing
    if not visible_to(kind, sender).filter(pk=existing.pk).exists():
        raise ExportDocumentNotFound(kind)
    raise Forbidden(
        _("Only the enterprise that sends this document may change or delete it."),
        code=codes.EXPORT_NOT_DOCUMENT_SENDER,
    )


def _declared_list_names(kind: ExportKind, document: Declaration) -> bool:
    """Has an export list built on this order, payment receipt or waybill gone to customs?"""
    lists = ExportList.objects.filter(status__in=EXPORT_LIST_DECLARED_STATES)
    if kind.name in ("export_order", "export_receipt"):
        return lists.filter(ebp_code=document.ebp_code, order_no=document.order_no).exists()  # type: ignore[attr-defined]
    if kind.name == "export_waybill":
        return lists.filter(
            logistics_code=document.logistics_code,  # type: ignore[attr-defined]
            logistics_no=document.logistics_no,  # type: ignore[attr-defined]
        ).exists()
    return False


def _new_status(kind: ExportKind, data: dict[str, Any]) -> str:
    if data["app_type"] == "3":
        return DocumentStatus.DELETED
    if data["app_status"] == "1":
        return DocumentStatus.DRAFT
    return kind.declared_status


def _check_change(kind: ExportKind, data: dict[str, Any], existing: Declaration) -> None:
    if data["app_time"] <= existing.app_time:
        raise ExportConflict(
            kind,
            codes.EXPORT_STALE_APP_TIME,
            _("A version with the same or a later app_time is already stored; this one is ignored."),
            existing_id=existing.pk,
        )
    refused = (
        existing.status not in LIST_CHANGEABLE  # type: ignore[attr-defined]
        if kind.is_list
        else _declared_list_names(kind, existing)
    )
    if refused:
        raise ExportConflict(
            kind,
            codes.EXPORT_CHANGE_NOT_ALLOWED,
            _("The list's state does not allow this change or deletion.")
            if kind.is_list
            else _("An export list naming this document has gone to customs: it can no longer be changed."),
            existing_id=existing.pk,
        )


def _is_text(row: models.Model, name: str) -> bool:
    return isinstance(row._meta.get_field(name), models.CharField)


def _set(row: Any, name: str, value: Any) -> None:
    """Set a column; an amount keeps the decimals it was sent with (``amount_scales``)."""
    if isinstance(value, Decimal):
        row.amount_scales = {**row.amount_scales, name: amount_scale(value)}
        value = value.quantize(COLUMN_SCALE)
    elif value is None and name in row.amount_scales:
        row.amount_scales = {k: v for k, v in row.amount_scales.items() if k != name}
    setattr(row, name, "" if value is None and _is_text(row, name) else value)


def _replace_lines(kind: ExportKind, document: Declaration, lines: list[dict[str, Any]]) -> None:
    if kind.line_model is None:
        return
    kind.line_model._default_manager.filter(**{kind.line_parent: document}).delete()
    objects = []
    for line in lines:
        row = kind.line_model(**{kind.line_parent: document})
        for name, value in line.items():
            _set(row, name, value)
        objects.append(row)
    kind.line_model._default_manager.bulk_create(objects)


def _audit_view(kind: ExportKind, document: Declaration) -> dict[str, Any]:
    if kind.line_model is None:
        return snapshot(document)
    skipped = {"id", kind.line_parent}
    lines = [
        {name: value for name, value in snapshot(line).items() if name not in skipped}
        for line in kind.line_model._default_manager.filter(**{kind.line_parent: document}).order_by("gnum")
    ]
    return snapshot(document, extra={"items": lines})


def _target(kind: ExportKind, data: dict[str, Any], sender: Enterprise) -> tuple[Declaration, dict[str, Any] | None]:
    """The row the submission writes (locked, for a change) and, for a change, its audit view
    before: a change comes from the stored document's sender party, newer and allowed in its
    state; a new document's key must be free."""
    existing: Declaration | None = _live(kind, data).select_for_update().first()
    if data["app_type"] != "1":
        existing = _check_stored_sender(kind, existing, sender)
        _refuse(rules.sender_problems(kind, data, sender))
        _check_change(kind, data, existing)
        before = _audit_view(kind, existing)
        existing.version += 1
        existing.sender = sender
        return existing, before
    if existing is not None:
        shown = existing.pk if visible_to(kind, sender).filter(pk=existing.pk).exists() else None
        raise ExportConflict(
            kind, codes.EXPORT_DUPLICATE, _("A document with this business key exists."), existing_id=shown
        )
    return kind.model(sender=sender, version=1), None


@transaction.atomic
def export_document_submit(
    *,
    kind: ExportKind,
    data: dict[str, Any],
    sender: Enterprise,
    source_message: InboundMessage | None = None,
    actor: Actor | None = None,
) -> SubmitResult:
    """Store a new version of an export document, change it, or delete it, as ``app_type`` says.

    ``data`` has passed the kind's input serializer. Raises ``Forbidden`` (not the sender's own
    code, or a change of a document another party sends), ``InvalidInput`` (rules, nothing
    stored), ``ExportDocumentNotFound`` or ``ExportConflict`` (duplicate, stale, state).
    """
    actor = actor or Actor(label=f"enterprise:{sender.code}", enterprise_id=sender.pk)
    # 1.
    data = intake_rules.normalise_party_codes(data)
    # 2.
    if data["app_type"] == "1":
        _refuse(rules.sender_problems(kind, data, sender))
    # 3.
    _lock(kind, data)
    document, before = _target(kind, data, sender)
    created = before is None
    status = _new_status(kind, data)
    # 4.
    if status != DocumentStatus.DELETED and data["app_status"] == "2":
        problems = checks.refusals(kind=kind, data=data, exclude_id=None if created else document.pk)
        if problems:
            raise Conflict(problems[0].message, code=problems[0].code, errors=problems)
    # 5.
    for name, value in data.items():
        if name != "items":
            _set(document, name, value)
    document.source_message = source_message  # type: ignore[attr-defined]
    # A new version's customs answers start afresh.
    document.customs_status = document.customs_note = ""  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            _save(kind, document, status, data, created=created)
    except IntegrityError as exc:
        raise ExportConflict(kind, codes.EXPORT_DUPLICATE, _("A document with this business key exists.")) from exc
    if "items" in data:
        _replace_lines(kind, document, data["items"])
    audit_record(
        actor=actor,
        action=AUDIT_ACTIONS[data["app_type"]],
        instance=document,
        before=before,
        after=_audit_view(kind, document),
        reason=f"{kind.name} app_type {data['app_type']}, app_status {data['app_status']}, version {document.version}",
    )
    events.export_document_accepted(kind=kind.name, document=document, created=created)
    if isinstance(document, ExportList):
        if status == ExportListStatus.PENDING_DOCUMENTS:
            checks.export_list_evaluate(export_list=document)
        document.refresh_from_db()
    else:
        gateway.export_document_forward(kind=kind, document=document)
        checks.documents_changed(kind=kind, document=document)
    return SubmitResult(document=document, created=created)


def _save(kind: ExportKind, document: Declaration, status: str, data: dict[str, Any], *, created: bool) -> None:
    note = f"app_type {data['app_type']}, app_status {data['app_status']}, version {document.version}"
    if not isinstance(document, ExportList):
        document.status = status  # type: ignore[attr-defined]
        document.save()
        return
    if created:
        lifecycle.export_list_create(export_list=document, status=status, note=note)
        return
    document.waiting_for, document.match_failures = [], []
    document.save()
    lifecycle.export_list_transition(export_list=document, to=status, source=lifecycle.ENTERPRISE, note=note)


@transaction.atomic
def export_list_cancel_request(
    *,
    export_list: ExportList,
    reason: str,
    requested_by: Enterprise,
    actor: Actor | None = None,
    guid: str = "",
    cop_no: str = "",
) -> ExportListCancellation:
    """Record a cancellation (CEB605) of a released export list; the gateway sends it to customs.
    ``guid`` and ``cop_no``: the agent's own, when it sent the CEB605 itself (else made here)."""
    locked = ExportList.objects.select_for_update().get(pk=export_list.pk)
    if locked.status not in CANCELLABLE:
        raise ExportConflict(
            LIST,
            codes.EXPORT_CANCEL_NOT_ALLOWED,
            _("Only an export list customs has released (and not yet summarised) can be cancelled."),
            existing_id=locked.pk,
        )
    if not reason.strip():
        raise InvalidInput.for_field("reason", errors.REQUIRED, _("A cancellation needs a reason."))
    try:
        with transaction.atomic():
            cancellation = ExportListCancellation.objects.create(
                export_list=locked,
                requested_by=requested_by,
                guid=guid or str(uuid.uuid4()).upper(),
                cop_no=cop_no or f"C{locked.pk:011d}",
                reason=reason.strip(),
            )
    except IntegrityError as exc:
        raise ExportConflict(
            LIST, codes.EXPORT_CANCEL_ALREADY_REQUESTED, _("A cancellation of this list is already open.")
        ) from exc
    audit_record(
        actor=actor or Actor(label=f"enterprise:{requested_by.code}", enterprise_id=requested_by.pk),
        action=AuditEntry.Action.CREATE,
        instance=cancellation,
        after=snapshot(cancellation),
        reason=f"cancellation of export list {locked.pk} ({locked})",
    )
    gateway.cancellation_mark(cancellation=cancellation)
    return cancellation
