"""Intake of the four import documents: new versions, changes, deletions.

``document_submit`` is the one entry for JSON and XML alike. It checks the registry and
reference rules, takes the business key's row lock, applies the ``app_type`` and sets the
state; matching (the next step of a declared list) starts from ``after_submit``.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import errors
from core.audit import Actor, audit_record, snapshot
from core.deferred import rows_deferred
from core.errors import Conflict, Forbidden, InvalidInput, NotFoundError
from core.models import AuditEntry
from declarations import events, selectors
from declarations.clearance import lifecycle, matching, notes, parcels
from declarations.customs import gateway
from declarations.intake import codes, rules
from declarations.intake.amounts import amount_scale
from declarations.intake.identity import protect_id_number
from declarations.kinds import INVENTORY, KINDS, DocumentType, kind_of
from declarations.models import (
    INVENTORY_DECLARED_STATES,
    Declaration,
    DocumentStatus,
    IdentityVerification,
    Inventory,
    InventoryCancellation,
    InventoryStatus,
    Payment,
    StatusChangeSource,
    Waybill,
)
from single_window.events import events_deferred
from single_window.models import Enterprise, InboundMessage

WAYBILL_REUSE_AFTER = datetime.timedelta(days=183)
# Amounts are decimal(19,5) columns.
COLUMN_SCALE = Decimal("0.00001")

# Views of the registry by name, for the tests that still look documents up by name.
MODELS: dict[str, tuple[type[Declaration], type[models.Model] | None]] = {
    name: (kind.model, kind.line_model) for name, kind in KINDS.items()
}
BUSINESS_KEYS: dict[str, tuple[str, str]] = {name: kind.business_key for name, kind in KINDS.items()}
# CEB623 cancels a list customs has released (DOMAIN.md section 3: released -> cancelled).
CANCELLABLE = frozenset({InventoryStatus.RELEASED})


class DocumentConflict(Conflict):
    """A 409 that names the customs code for the same refusal where there is one."""

    def __init__(self, kind: DocumentType, code: str, detail: Any, *, existing_id: int | None = None) -> None:
        extra: dict[str, Any] = {}
        if existing_id is not None:
            extra["existing_id"] = existing_id
        if code in kind.customs_codes:
            extra["customs_code"] = kind.customs_codes[code]
        super().__init__(detail, code=code, extra=extra)


class DocumentNotFound(NotFoundError):
    """The 404 of a change or deletion of a business key that isn't there, or that the sender
    may not see: one answer for both (with customs' code for it), so a change never tells an
    enterprise whether someone else's document exists."""

    def __init__(self, kind: DocumentType) -> None:
        customs = kind.customs_codes.get(errors.NOT_FOUND)
        super().__init__(
            _("There is no document with this business key that you may change or delete."),
            extra={"customs_code": customs} if customs else None,
        )


@dataclass(frozen=True)
class SubmitResult:
    document: Declaration
    created: bool


def _live(kind: DocumentType, data: dict[str, Any]) -> models.QuerySet[Any]:
    first, second = kind.business_key
    queryset: models.QuerySet[Any] = kind.model._default_manager.filter(**{first: data[first], second: data[second]})
    if kind.reusable_key:
        # The latest generation, deleted or not: a deleted one frees the number (``_target``).
        return queryset.order_by("-generation")
    return queryset.exclude(status=DocumentStatus.DELETED)


def _declared_list_for(kind: DocumentType, document: Declaration) -> bool:
    """Has a list built on this order, payment or waybill already gone to customs?"""
    lists = Inventory.objects.filter(status__in=INVENTORY_DECLARED_STATES)
    return lists.filter(**{name: getattr(document, name) for name in kind.link.fields}).exists()


def _record_scale(row: Declaration | models.Model, name: str, value: Any) -> Any:
    """The value to store, and for an amount the decimals it was sent with kept in
    ``amount_scales`` (the input serializer hands each amount over at its written scale); the
    amount itself is held as the decimal(19,5) column holds it, so the row reads the same before
    and after it is saved (audit, events, tax). An amount left empty has no scale."""
    scales: dict[str, int] = row.amount_scales  # type: ignore[union-attr]
    if isinstance(value, Decimal):
        row.amount_scales = {**scales, name: amount_scale(value)}  # type: ignore[union-attr]
        return value.quantize(COLUMN_SCALE)
    if value is None and name in scales:
        row.amount_scales = {key: scale for key, scale in scales.items() if key != name}  # type: ignore[union-attr]
    return value


def _assign(document: Declaration, data: dict[str, Any]) -> None:
    for name, sent in data.items():
        if name == "items":
            continue
        value = _record_scale(document, name, sent)
        if name.endswith("_id_number"):
            prefix = name.removesuffix("_number")
            encrypted, digest = protect_id_number(value)
            setattr(document, f"{name}_encrypted", encrypted)
            setattr(document, f"{prefix}_hash", digest)
        else:
            setattr(document, name, "" if value is None and _is_text(document, name) else value)


def _is_text(document: Declaration, name: str) -> bool:
    return isinstance(document._meta.get_field(name), models.CharField)


def _replace_lines(
    document: Declaration, kind: DocumentType, lines: list[dict[str, Any]], *, created: bool
) -> list[models.Model]:
    """Store the document's lines in place of its earlier version's; the lines stored."""
    line_model, parent = kind.line_model, kind.line_parent
    if line_model is None:
        return []
    if not created:
        line_model._default_manager.filter(**{parent: document}).delete()
    objects = []
    for line in lines:
        row = line_model(**{parent: document})
        for name, sent in line.items():
            value = _record_scale(row, name, sent)
            setattr(
                row, name, "" if value is None and isinstance(row._meta.get_field(name), models.CharField) else value
            )
        objects.append(row)
    return line_model._default_manager.bulk_create(objects)


def _remember_lines(document: Declaration, kind: DocumentType, lines: list[models.Model]) -> None:
    """Let ``document.items`` answer with the lines just stored, as a prefetch would, so the
    answer does not read them back."""
    assert kind.line_model is not None  # noqa: S101 - only documents with lines get here
    name = str(kind.line_model._meta.get_field(kind.line_parent).remote_field.get_accessor_name())  # type: ignore[union-attr]
    queryset = getattr(document, name).get_queryset()
    queryset._result_cache = sorted(lines, key=lambda line: line.gnum)
    queryset._prefetch_done = True
    document._prefetched_objects_cache = {name: queryset}  # type: ignore[attr-defined]


def _new_status(kind: DocumentType, data: dict[str, Any]) -> str:
    if data["app_type"] == "3":
        return DocumentStatus.DELETED
    if data["app_status"] == "1":
        return DocumentStatus.DRAFT
    return kind.declared_status


# Business keys a batch found stored by no document (``keys_absent``): (kind, first, second).
_absent: ContextVar[set[tuple[str, Any, Any]] | None] = ContextVar("keys_absent", default=None)


def business_keys_stored(kind: DocumentType, keys: Iterable[tuple[Any, Any]]) -> set[tuple[Any, Any]]:
    """Which of ``keys`` (business key values of ``kind``) any stored document has, deleted
    or not: one query."""
    keys = list(keys)
    if not keys:
        return set()
    first, second = kind.business_key
    which = reduce(or_, (Q(**{first: a, second: b}) for a, b in keys))
    return set(kind.model._default_manager.filter(which).values_list(first, second))


@contextlib.contextmanager
def keys_absent(keys: set[tuple[str, Any, Any]]) -> Iterator[None]:
    """Inside the block a new document (appType 1) whose ``(kind, first, second)`` key is in
    ``keys`` is not looked for: a batch read in one query that no document has it. The first
    document to use such a key takes it out of the set (the next one looks, and finds it); one
    created meanwhile by a parallel request is caught by the key's unique constraint."""
    token = _absent.set(keys)
    try:
        yield
    finally:
        _absent.reset(token)


def _existing(kind: DocumentType, data: dict[str, Any]) -> tuple[Declaration | None, int]:
    """The stored row of the business key, locked, that a new version would replace (None when
    there is none, or a waybill number is free again), and the generation a new one gets."""
    absent = _absent.get()
    first, second = kind.business_key
    key = (kind.name, data[first], data[second])
    if absent is not None and data["app_type"] == "1" and key in absent:
        absent.discard(key)
        return None, 1
    existing = _live(kind, data).select_for_update().first()
    generation = 1
    if kind.reusable_key and existing is not None:
        # A deleted waybill frees its number; a live one frees it after six months.
        expired = data["app_type"] == "1" and existing.created_at < timezone.now() - WAYBILL_REUSE_AFTER
        if existing.status == DocumentStatus.DELETED or expired:
            generation, existing = existing.generation + 1, None
    return existing, generation


def _visible(kind: DocumentType, document: Declaration, enterprise: Enterprise) -> bool:
    return selectors.documents_visible_to(kind=kind, enterprise=enterprise).filter(pk=document.pk).exists()


def _check_sender(kind: DocumentType, existing: Declaration | None, sender: Enterprise) -> Declaration:
    """A change or deletion comes from the document's principal (``rules.may_change``).

    Anyone else is answered as if the key were not there (404) when it may not see the
    document, and 403 when it may (a party named in it): never with a hint that someone
    else's document exists, nor its id.
    """
    if existing is None:
        raise DocumentNotFound(kind)
    if rules.may_change(kind=kind.name, document=existing, sender=sender):
        return existing
    if not _visible(kind, existing, sender):
        raise DocumentNotFound(kind)
    raise Forbidden(
        _("Only the enterprise that sent this document, or an agent it appointed, may change or delete it."),
        code=codes.NOT_DOCUMENT_SENDER,
    )


def _check_change(kind: DocumentType, data: dict[str, Any], existing: Declaration) -> Declaration:
    """A change or deletion needs a newer-than-before, not yet declared document."""
    if data["app_time"] <= existing.app_time:
        raise DocumentConflict(
            kind,
            codes.STALE_APP_TIME,
            _("A version with the same or a later app_time is already stored; this one is ignored."),
            existing_id=existing.pk,
        )
    # A list may be changed or deleted as far as its lifecycle allows (not once it has gone to
    # customs, unless customs rejected it).
    declared = (
        not lifecycle.inventory_move_allowed(
            from_status=existing.status,  # type: ignore[attr-defined]
            to_status=_new_status(kind, data),
        )
        if kind.is_list
        else _declared_list_for(kind, existing)
    )
    if declared:
        raise DocumentConflict(
            kind,
            codes.CHANGE_NOT_ALLOWED,
            _("The list's state does not allow this change or deletion.")
            if kind.is_list
            else _("A list naming this document has gone to customs: it can no longer be changed or deleted."),
            existing_id=existing.pk,
        )
    return existing


def _target(
    kind: DocumentType,
    data: dict[str, Any],
    sender: Enterprise,
    existing: Declaration | None,
    generation: int,
) -> tuple[Declaration, bool]:
    """The row the submission writes and whether it is new; for a change, ``existing`` is the
    stored row whose sender ``_check_sender`` let through."""
    if data["app_type"] != "1":
        if existing is None:
            raise DocumentNotFound(kind)
        document = _check_change(kind, data, existing)
        document.version += 1
        # Each version is its sender's: forwarding signs it with that enterprise's key.
        document.sender = sender
        return document, False
    if existing is not None:
        # The id only to who may see the document; the refusal itself is customs' (-301010...).
        shown = existing.pk if _visible(kind, existing, sender) else None
        raise DocumentConflict(kind, codes.DUPLICATE, _("A document with this business key exists."), existing_id=shown)
    document = kind.model(sender=sender, version=1)
    if isinstance(document, Waybill):
        document.generation = generation
    return document, True


def _refuse_rule_breaks(kind: DocumentType, data: dict[str, Any], sender: Enterprise) -> None:
    problems = rules.check_document(kind=kind.name, data=data, sender=sender)
    if problems:
        raise InvalidInput(_("The document breaks the single window's rules."), errors=problems)


def _audit_view(document: Declaration, kind: DocumentType, lines: list[models.Model] | None = None) -> dict[str, Any]:
    """The audit view of a document and its lines: personal data and ID numbers left out
    (``Declaration.audit_excluded``). ``lines``: the lines just stored (else they are read)."""
    if kind.line_model is None:
        return snapshot(document)
    skipped = {"id", kind.line_parent}
    if lines is None:
        lines = list(kind.line_model._default_manager.filter(**{kind.line_parent: document}))
    return snapshot(
        document,
        extra={
            "items": [
                {name: value for name, value in snapshot(line).items() if name not in skipped}
                for line in sorted(lines, key=lambda line: line.gnum)  # type: ignore[attr-defined]
            ]
        },
    )


# The audit action of each app_type: new, change, delete.
AUDIT_ACTIONS = {"1": AuditEntry.Action.CREATE, "2": AuditEntry.Action.UPDATE, "3": AuditEntry.Action.DELETE}


def document_submit(
    *,
    kind: DocumentType | str,
    data: dict[str, Any],
    sender: Enterprise,
    source_message: InboundMessage | None = None,
    actor: Actor | None = None,
    savepoint: bool = True,
) -> SubmitResult:
    """Store a new version of a document, change it, or delete it, as ``app_type`` says.

    ``kind``: the document type (or its name). ``data`` has passed the type's input serializer.
    ``source_message``: the customs XML message the document came in (the gateway may forward it
    as it came); None for JSON. ``actor``: who did it, for the audit log (the caller of the API
    key; None: the sender itself). Raises ``InvalidInput`` (rules, nothing stored),
    ``DocumentNotFound`` (a change of a key that isn't there or the sender can't see),
    ``Forbidden`` (a change of a document another enterprise sent) or ``DocumentConflict``
    (duplicate, stale version, state that forbids the change).

    1. Party codes are normalised: an enterprise named by its USCC is stored under its code.
    2. A new document passes the rules before anything about its key is told.
    3. The parcel's locks, then the key's row: a change comes from the document's principal
       (checked before the rules, so a stranger learns nothing), then passes the rules.
    4. The version is stored, audited, forwarded (order, payment, waybill) and matched.

    Its events, audit entries and status history are written together at the end
    (``events_deferred``, ``core.deferred.rows_deferred``).

    ``savepoint=False`` (a batch's first try of a chunk, ``batches``): no savepoint of its own,
    in the caller's transaction. Every refusal above comes before the first write, so a refused
    document leaves the transaction as it found it; a database error (a parallel request's
    lock, a key taken meanwhile) reaches the caller, whose transaction is lost with it.
    """
    kind = kind_of(kind)
    if not savepoint:
        if not transaction.get_connection().in_atomic_block:
            msg = "document_submit(savepoint=False) runs in the caller's transaction"
            raise RuntimeError(msg)
        with rows_deferred(), events_deferred():
            return _document_submit(
                kind=kind, data=data, sender=sender, source_message=source_message, actor=actor, savepoint=False
            )
    with transaction.atomic(), rows_deferred(), events_deferred():
        return _document_submit(kind=kind, data=data, sender=sender, source_message=source_message, actor=actor)


def _document_submit(
    *,
    kind: DocumentType,
    data: dict[str, Any],
    sender: Enterprise,
    source_message: InboundMessage | None,
    actor: Actor | None,
    savepoint: bool = True,
) -> SubmitResult:
    actor = actor or Actor(label=f"enterprise:{sender.code}", enterprise_id=sender.pk)
    # 1.
    data = rules.normalise_party_codes(data)
    changing = data["app_type"] != "1"
    # 2.
    if not changing:
        _refuse_rule_breaks(kind, data, sender)
    # 3.
    parcels.parcel_lock(kind, data)
    existing, generation = _existing(kind, data)
    before = None
    if changing:
        existing = _check_sender(kind, existing, sender)
        _refuse_rule_breaks(kind, data, sender)
        before = _audit_view(existing, kind)
    document, created = _target(kind, data, sender, existing, generation)
    # 4.
    # A change may move a payment to another order: the lists of the old parcel lose it.
    previous = copy.copy(document) if isinstance(document, Payment) and not created else None
    _assign(document, data)
    if isinstance(document, Payment) and not created:
        # A new version may name another payer: the payment company is asked again.
        document.identity_verification = IdentityVerification.NOT_REQUESTED
        document.identity_verified_at = None
    if isinstance(document, Inventory):
        document.source_message = source_message  # this version's; a JSON change clears it
    try:
        _save(document, kind, data, created=created)
    except IntegrityError as exc:
        if not savepoint:
            raise  # the caller's transaction is lost: it tries again with savepoints
        # A parallel request created the same business key first. No savepoint is needed: the
        # refusal leaves the atomic block of ``document_submit``, which rolls the submission back.
        raise DocumentConflict(kind, codes.DUPLICATE, _("A document with this business key exists.")) from exc
    lines = _replace_lines(document, kind, data["items"], created=created) if "items" in data else None
    if lines is not None:
        _remember_lines(document, kind, lines)
    audit_record(
        actor=actor,
        action=AUDIT_ACTIONS[data["app_type"]],
        instance=document,
        before=before,
        after=_audit_view(document, kind, lines),
        reason=f"{kind.name} app_type {data['app_type']}, app_status {data['app_status']}, version {document.version}",
    )
    if not kind.is_list:
        # A declared order, payment or waybill goes to customs for its sender (a list goes once matched).
        gateway.document_forward(kind=kind, document=document, source_message=source_message)
    events.document_accepted(kind=kind, document=document, created=created)
    after_submit(kind=kind, document=document)
    if previous is not None and (previous.ebp_code, previous.order_no) != (data["ebp_code"], data["order_no"]):
        after_submit(kind=kind, document=previous)
    if isinstance(document, Inventory):
        # Matching wrote what the list waits for to the row, not to this instance.
        document.refresh_from_db(fields=["status", "waiting_for", "updated_at"])
    return SubmitResult(document=document, created=created)


def _save(document: Declaration, kind: DocumentType, data: dict[str, Any], *, created: bool) -> None:
    """Write the document in its new state; a list's state goes through its lifecycle."""
    status = _new_status(kind, data)
    if not isinstance(document, Inventory):
        document.status = status  # type: ignore[attr-defined]
        document.save()
        return
    note = f"app_type {data['app_type']}, app_status {data['app_status']}, version {document.version}"
    said: dict[str, Any] = {
        "note": note,
        "note_code": notes.SUBMITTED,
        "note_params": {"app_type": data["app_type"], "app_status": data["app_status"], "version": document.version},
    }
    source = StatusChangeSource.ENTERPRISE
    if created:
        lifecycle.inventory_create(inventory=document, status=status, source=source, **said)
        return
    document.save()
    lifecycle.inventory_transition(inventory=document, to=status, source=source, **said)


def after_submit(*, kind: DocumentType | str, document: Declaration) -> None:
    """Bring the lists that wait on this parcel up to date (``kind`` may be a name)."""
    matching.documents_changed(kind=kind_of(kind).name, document=document)


@transaction.atomic
def inventory_cancel_request(
    *, inventory: Inventory, reason: str, requested_by: Enterprise, actor: Actor | None = None
) -> InventoryCancellation:
    """Record a cancellation (CEB623) of a declared list; the gateway sends it to customs.

    ``actor``: who asked, for the audit log (None: the requesting enterprise itself)."""
    inventory = Inventory.objects.select_for_update().get(pk=inventory.pk)
    if inventory.status not in CANCELLABLE:
        raise DocumentConflict(
            INVENTORY,
            codes.CANCEL_NOT_ALLOWED,
            _("Only a list customs has released can be cancelled."),
            existing_id=inventory.pk,
        )
    if not reason.strip():
        raise InvalidInput.for_field("reason", "required", _("A cancellation needs a reason."))
    try:
        with transaction.atomic():
            cancellation = InventoryCancellation.objects.create(
                inventory=inventory, reason=reason.strip(), requested_by=requested_by
            )
    except IntegrityError as exc:
        raise DocumentConflict(
            INVENTORY, codes.CANCEL_ALREADY_REQUESTED, _("A cancellation of this list is already open.")
        ) from exc
    try:
        gateway.cancellation_send(cancellation=cancellation)
    except gateway.GatewayRefusal as refusal:
        # Nothing is recorded that can't leave signed: the enterprise fixes the cause and asks again.
        raise DocumentConflict(INVENTORY, codes.CANCEL_NOT_SENDABLE, refusal.note, existing_id=inventory.pk) from None
    audit_record(
        actor=actor or Actor(label=f"enterprise:{requested_by.code}", enterprise_id=requested_by.pk),
        action=AuditEntry.Action.CREATE,
        instance=cancellation,
        after=snapshot(cancellation),
        reason=f"cancellation of list {inventory.pk} ({inventory})",
    )
    return cancellation
