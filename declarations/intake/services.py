"""Intake of the four import documents: new versions, changes, deletions.

``document_submit`` is the one entry for JSON and XML alike. It checks the registry and
reference rules, takes the business key's row lock, applies the ``app_type`` and sets the
state; matching (the next step of a declared list) starts from ``after_submit``.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, InvalidInput
from declarations import events
from declarations.clearance import lifecycle, matching, parcels
from declarations.customs import gateway
from declarations.intake import codes, rules
from declarations.intake.identity import protect_id_number
from declarations.models import (
    INVENTORY_DECLARED_STATES,
    Declaration,
    DocumentStatus,
    IdentityVerification,
    Inventory,
    InventoryCancellation,
    InventoryItem,
    InventoryStatus,
    Order,
    OrderItem,
    Payment,
    StatusChangeSource,
    Waybill,
)
from single_window.models import Enterprise, InboundMessage

WAYBILL_REUSE_AFTER = datetime.timedelta(days=183)

MODELS: dict[str, tuple[type[Declaration], type[models.Model] | None]] = {
    "order": (Order, OrderItem),
    "payment": (Payment, None),
    "waybill": (Waybill, None),
    "inventory": (Inventory, InventoryItem),
}
BUSINESS_KEYS: dict[str, tuple[str, str]] = {
    "order": ("ebp_code", "order_no"),
    "payment": ("pay_code", "pay_transaction_id"),
    "waybill": ("logistics_code", "logistics_no"),
    "inventory": ("agent_code", "cop_no"),
}
# CEB623 cancels a list customs has released (DOMAIN.md section 3: released -> cancelled).
CANCELLABLE = frozenset({InventoryStatus.RELEASED})


class DocumentConflict(Conflict):
    """A 409 that names the customs code for the same refusal where there is one."""

    def __init__(self, kind: str, code: str, detail: Any, *, existing_id: int | None = None) -> None:
        extra: dict[str, Any] = {}
        if existing_id is not None:
            extra["existing_id"] = existing_id
        if (kind, code) in codes.CUSTOMS_CODES:
            extra["customs_code"] = codes.CUSTOMS_CODES[(kind, code)]
        super().__init__(detail, code=code, extra=extra)


@dataclass(frozen=True)
class SubmitResult:
    document: Declaration
    created: bool


def _live(kind: str, data: dict[str, Any]) -> models.QuerySet[Any]:
    model, _lines = MODELS[kind]
    first, second = BUSINESS_KEYS[kind]
    queryset: models.QuerySet[Any] = model._default_manager.filter(**{first: data[first], second: data[second]})
    if kind == "waybill":
        return queryset.order_by("-generation")
    return queryset.exclude(status=DocumentStatus.DELETED)


def _declared_list_for(kind: str, document: Declaration) -> bool:
    """Has a list built on this order, payment or waybill already gone to customs?"""
    lists = Inventory.objects.filter(status__in=INVENTORY_DECLARED_STATES)
    if kind in ("order", "payment"):
        return lists.filter(ebp_code=document.ebp_code, order_no=document.order_no).exists()  # type: ignore[attr-defined]
    if kind == "waybill":
        return lists.filter(logistics_code=document.logistics_code, logistics_no=document.logistics_no).exists()  # type: ignore[attr-defined]
    return document.status in INVENTORY_DECLARED_STATES  # type: ignore[attr-defined]


def _assign(document: Declaration, kind: str, data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name == "items":
            continue
        if name.endswith("_id_number"):
            prefix = name.removesuffix("_number")
            encrypted, digest = protect_id_number(value)
            setattr(document, f"{name}_encrypted", encrypted)
            setattr(document, f"{prefix}_hash", digest)
        else:
            setattr(document, name, "" if value is None and _is_text(document, name) else value)


def _is_text(document: Declaration, name: str) -> bool:
    return isinstance(document._meta.get_field(name), models.CharField)


def _replace_lines(document: Declaration, kind: str, lines: list[dict[str, Any]]) -> None:
    _model, line_model = MODELS[kind]
    if line_model is None:
        return
    parent = "order" if kind == "order" else "inventory"
    line_model._default_manager.filter(**{parent: document}).delete()
    objects = []
    for line in lines:
        row = line_model(**{parent: document})
        for name, value in line.items():
            setattr(
                row, name, "" if value is None and isinstance(row._meta.get_field(name), models.CharField) else value
            )
        objects.append(row)
    line_model._default_manager.bulk_create(objects)


def _new_status(kind: str, data: dict[str, Any]) -> str:
    if data["app_type"] == "3":
        return DocumentStatus.DELETED
    if data["app_status"] == "1":
        return DocumentStatus.DRAFT
    return InventoryStatus.PENDING_DOCUMENTS if kind == "inventory" else DocumentStatus.DECLARED


def _check_change(kind: str, data: dict[str, Any], existing: Declaration | None) -> Declaration:
    """A change or deletion needs a stored, newer-than-before, not yet declared document."""
    if existing is None:
        raise DocumentConflict(
            kind, codes.NOTHING_TO_CHANGE, _("There is no document with this business key to change or delete.")
        )
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
        if kind == "inventory"
        else _declared_list_for(kind, existing)
    )
    if declared:
        raise DocumentConflict(
            kind,
            codes.CHANGE_NOT_ALLOWED,
            _("The list's state does not allow this change or deletion.")
            if kind == "inventory"
            else _("The document has been declared to customs and can no longer be changed or deleted."),
            existing_id=existing.pk,
        )
    return existing


def _target(kind: str, data: dict[str, Any], sender: Enterprise) -> tuple[Declaration, bool]:
    """The row the submission writes, locked, and whether it is new."""
    model, _lines = MODELS[kind]
    existing = _live(kind, data).select_for_update().first()
    generation = 1
    if kind == "waybill" and existing is not None:
        # A deleted waybill frees its number; a live one frees it after six months.
        expired = data["app_type"] == "1" and existing.created_at < timezone.now() - WAYBILL_REUSE_AFTER
        if existing.status == DocumentStatus.DELETED or expired:
            generation, existing = existing.generation + 1, None
    if data["app_type"] != "1":
        document = _check_change(kind, data, existing)
        document.version += 1
        return document, False
    if existing is not None:
        raise DocumentConflict(
            kind, codes.DUPLICATE, _("A document with this business key exists."), existing_id=existing.pk
        )
    document = model(sender=sender, version=1)
    if isinstance(document, Waybill):
        document.generation = generation
    return document, True


@transaction.atomic
def document_submit(
    *, kind: str, data: dict[str, Any], sender: Enterprise, source_message: InboundMessage | None = None
) -> SubmitResult:
    """Store a new version of a document, change it, or delete it, as ``app_type`` says.

    ``data`` has passed the input serializer. ``source_message``: the customs XML message the
    document came in (the gateway may forward it as it came); None for JSON. Raises ``InvalidInput``
    (rules, nothing stored) or ``DocumentConflict`` (duplicate, stale version, state that
    forbids the change).
    """
    problems = rules.check_document(kind=kind, data=data, sender=sender)
    if problems:
        raise InvalidInput(_("The document breaks the single window's rules."), errors=problems)
    parcels.parcel_lock(kind, data)
    document, created = _target(kind, data, sender)
    # A change may move a payment to another order: the lists of the old parcel lose it.
    previous = copy.copy(document) if isinstance(document, Payment) and not created else None
    _assign(document, kind, data)
    if isinstance(document, Payment) and not created:
        # A new version may name another payer: the payment company is asked again.
        document.identity_verification = IdentityVerification.NOT_REQUESTED
        document.identity_verified_at = None
    if isinstance(document, Inventory):
        document.source_message = source_message  # this version's; a JSON change clears it
    try:
        with transaction.atomic():
            _save(document, kind, data, created=created)
    except IntegrityError as exc:
        # A parallel request created the same business key first.
        raise DocumentConflict(kind, codes.DUPLICATE, _("A document with this business key exists.")) from exc
    if "items" in data:
        _replace_lines(document, kind, data["items"])
    if kind != "inventory":
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


def _save(document: Declaration, kind: str, data: dict[str, Any], *, created: bool) -> None:
    """Write the document in its new state; a list's state goes through its lifecycle."""
    status = _new_status(kind, data)
    if not isinstance(document, Inventory):
        document.status = status  # type: ignore[attr-defined]
        document.save()
        return
    note = f"app_type {data['app_type']}, app_status {data['app_status']}, version {document.version}"
    source = StatusChangeSource.ENTERPRISE
    if created:
        lifecycle.inventory_create(inventory=document, status=status, source=source, note=note)
        return
    document.save()
    lifecycle.inventory_transition(inventory=document, to=status, source=source, note=note)


def after_submit(*, kind: str, document: Declaration) -> None:
    """Bring the lists that wait on this parcel up to date."""
    matching.documents_changed(kind=kind, document=document)


@transaction.atomic
def inventory_cancel_request(*, inventory: Inventory, reason: str, requested_by: Enterprise) -> InventoryCancellation:
    """Record a cancellation (CEB623) of a declared list; the gateway sends it to customs."""
    inventory = Inventory.objects.select_for_update().get(pk=inventory.pk)
    if inventory.status not in CANCELLABLE:
        raise DocumentConflict(
            "inventory",
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
            "inventory", codes.CANCEL_ALREADY_REQUESTED, _("A cancellation of this list is already open.")
        ) from exc
    try:
        gateway.cancellation_send(cancellation=cancellation)
    except gateway.GatewayRefusal as refusal:
        # Nothing is recorded that can't leave signed: the enterprise fixes the cause and asks again.
        raise DocumentConflict("inventory", codes.CANCEL_NOT_SENDABLE, refusal.note, existing_id=inventory.pk) from None
    return cancellation
