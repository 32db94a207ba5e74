"""The export side of the customs gateway: each declared export document leaves for customs as
its own signed message (CEB303, 403, 505, 507, 509, 603, 605, 607), through the hub's outbox,
like the import documents.

1. The transaction that declares a document marks it (``dispatch_requested_at``,
   ``export_document_mark``); nothing accepted is lost whatever happens after the commit.
2. After the commit a Celery task (``declarations.export_dispatch``) forwards the bytes the
   enterprise signed itself when the document came alone in its own XML message
   (``_forwardable``), or builds its message from the stored row (``declarations.export.spec``
   gives the elements in the schema's order) and signs it rsa-sha1 for the enterprise that
   sends it (its declaring agent for a list) with that enterprise's active key; it checks the
   message against ``export202205.xsd`` and writes one outbox row, in one transaction that
   clears the mark. Without a broker, with tasks eager or with no batching window
   (``CUSTOMS_BATCH_WINDOW_MS`` 0) it runs at once; a sweep (every 30 s,
   ``export_dispatch_sweep``) sends what a lost task left marked.
3. No key, no customs partner, or a message the schema refuses: nothing leaves. A list goes to
   ``send_failed`` with the reason; any other document keeps it in ``customs_note``.
4. A message customs never took (the outbox gave up, or customs refused it as a whole with a
   CEB900) does the same (``register_message_outcomes``).

Messages of one document leave in order (ordering key ``<kind>:<id>``): a change never overtakes
the version before it.
"""

from __future__ import annotations

import datetime
import functools
import logging
from decimal import Decimal
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from lxml import etree

from core.crypto import decrypt_bytes
from core.times import ceb_time
from declarations.customs import gateway as customs_gateway
from declarations.customs import xml
from declarations.customs.gateway import GatewayRefusal, MessageOutcomes, NoSigningKey, SchemaRefusal
from declarations.customs.spec import Field, Kind
from declarations.export import kinds, lifecycle
from declarations.export.spec import CANCELLATION, SPECS, ExportSpec
from declarations.intake.amounts import amount_text
from declarations.models import (
    Declaration,
    DocumentStatus,
    ExportListCancellation,
    ExportListStatus,
)
from single_window import selectors as hub_selectors
from single_window import services as hub_services
from single_window.customs import customs_partner
from single_window.models import Enterprise, OutboxDestination, OutboxMessage
from single_window.outbox import outbox_enqueue
from single_window.signatures import sign_message, usable_certificates, verify_message_signature

logger = logging.getLogger(__name__)

DISPATCH_TASK = "declarations.export_dispatch"
CANCELLATION_KIND = "export_cancellation"
SWEEP_DELAY = datetime.timedelta(seconds=30)
XML_HEADERS = {"Content-Type": "application/xml"}
NOTE_NO_KEY = "not sent: {code} has no active signing key registered with the single window"
NOTE_NO_PARTNER = "not sent: no customs partner is configured (CUSTOMS_PARTNER_CODE)"
NOTE_NO_DECLARANT = "not sent: the declaring enterprise {code} is not registered with the single window"
NOTE_SCHEMA = "not sent: the message does not validate against the export schema: {problem}"
NOTE_DEAD = "customs did not take the message: {error}"
# Receipts that say customs has a version of a document (taken, or returned: 100), as for imports.
HOLDING_CODES = frozenset({"2", "3", "100", "120", "300", "399", "500", "800", "899"})


def holds_code(code: str) -> bool:
    return code in HOLDING_CODES


# --- Building -------------------------------------------------------------------------------------


def _q(name: str) -> str:
    return f"{{{xml.CEB_NS}}}{name}"


def _text(field: Field, value: Any, scales: dict[str, int]) -> str:
    if value is None:
        return ""
    if field.kind is Kind.TIMESTAMP and isinstance(value, datetime.datetime):
        return ceb_time(value)
    if field.kind is Kind.DATE and isinstance(value, datetime.date):
        return value.strftime("%Y%m%d")
    if field.kind is Kind.DECIMAL and isinstance(value, Decimal):
        return amount_text(value, scales.get(field.name))
    return str(value)


def _append(parent: etree._Element, fields: tuple[Field, ...], values: dict[str, str]) -> None:
    """One element per field, in the schema's order; optional empty fields left out."""
    for field in fields:
        text = values.get(field.name, "")
        if text or field.required:
            etree.SubElement(parent, _q(field.xml)).text = text


def app_type_for(document: Any) -> str:
    """A change or deletion goes out as such only when customs holds an earlier version."""
    if document.app_type != "1" and not document.customs_holds:
        return "1"
    return str(document.app_type)


def document_message(*, spec: ExportSpec, document: Any, declarant: Enterprise) -> etree._Element:
    """The unsigned message of one stored export document (or cancellation)."""
    root = customs_gateway.message_root(spec.message)
    element = etree.SubElement(root, _q(spec.element))
    head = etree.SubElement(element, _q(spec.head_element)) if spec.head_element else element
    scales = getattr(document, "amount_scales", {})
    values = {f.name: _text(f, getattr(document, f.name, None), scales) for f in spec.head}
    values["app_type"] = app_type_for(document)
    _append(head, spec.head, values)
    if spec.lines:
        for item in document.items.all():
            line = etree.SubElement(element, _q(spec.line_element))
            _append(line, spec.lines, {f.name: _text(f, getattr(item, f.name), item.amount_scales) for f in spec.lines})
    customs_gateway.base_transfer(root, declarant)
    return root


def cancellation_values(cancellation: ExportListCancellation) -> dict[str, Any]:
    """The CEB605 fields of a cancellation, from its list."""
    export_list = cancellation.export_list
    return {
        "guid": cancellation.guid,
        "app_type": "1",
        "app_time": cancellation.created_at,
        "app_status": "2",
        "customs_code": export_list.customs_code,
        "cop_no": cancellation.cop_no,
        "pre_no": "",
        "invt_no": export_list.invt_no,
        "reason": cancellation.reason,
        "agent_code": export_list.agent_code,
        "agent_name": export_list.agent_name,
        "ebc_code": export_list.ebc_code,
        "ebc_name": export_list.ebc_name,
        "note": "",
    }


def cancellation_message(*, cancellation: ExportListCancellation, declarant: Enterprise) -> etree._Element:
    root = customs_gateway.message_root(CANCELLATION.message)
    element = etree.SubElement(root, _q(CANCELLATION.element))
    given = cancellation_values(cancellation)
    values = {f.name: _text(f, given[f.name], {}) for f in CANCELLATION.head}
    _append(element, CANCELLATION.head, values)
    customs_gateway.base_transfer(root, declarant)
    return root


def _signed(root: etree._Element, declarant: Enterprise) -> bytes:
    key = hub_selectors.signing_key_active(enterprise=declarant)
    if key is None:
        raise NoSigningKey(NOTE_NO_KEY.format(code=declarant.code))
    signed = sign_message(
        root=root,
        private_key_pem=hub_services.signing_key_private_pem(signing_key=key),
        certificate_pem=key.certificate_pem.encode(),
    )
    body: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return body


def _validated(body: bytes, *, message: str) -> bytes:
    try:
        xml.read_message(body, expected_message=message)
    except xml.MessageRejected as rejected:
        raise SchemaRefusal(NOTE_SCHEMA.format(problem=rejected.return_info)) from None
    return body


def _forwardable(*, spec: ExportSpec, document: Any, declarant: Enterprise) -> bytes | None:
    """The bytes the enterprise signed, when they can go as they came: the message this version
    came in was sent by the declarant, holds this document alone (same guid, declared, the
    appType customs expects) and its signature still verifies with a certificate of the
    declarant in force now. None otherwise (the gateway signs the rebuilt message)."""
    message = getattr(document, "source_message", None)
    if message is None or message.sender_id != declarant.pk:
        return None
    body = decrypt_bytes(message.body_encrypted)
    try:
        root = xml.read_message(body, expected_message=spec.message)
    except xml.MessageRejected:
        return None
    elements = root.findall(_q(spec.element))
    if len(elements) != 1:
        return None
    head = elements[0].find(_q(spec.head_element)) if spec.head_element else elements[0]
    if head is None or head.findtext(_q("guid")) != document.guid or head.findtext(_q("appStatus")) != "2":
        return None
    if head.findtext(_q("appType")) != app_type_for(document):
        return None
    check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=declarant))
    return body if check.verified else None


def _partner_code() -> str:
    partner = customs_partner()
    if partner is None:
        raise GatewayRefusal(NOTE_NO_PARTNER)
    return partner.code


# --- Marking and dispatching ------------------------------------------------------------------------


def _model(kind_name: str) -> Any:
    if kind_name == CANCELLATION_KIND:
        return ExportListCancellation._default_manager
    return kinds.rows(kinds.KINDS[kind_name])


def export_document_mark(*, kind_name: str, document: Any) -> None:
    """Mark the document's current version for the gateway in the caller's transaction; it is
    dispatched once that commits."""
    if not settings.CUSTOMS_GATEWAY_ENABLED:
        return
    now = timezone.now()
    _model(kind_name).filter(pk=document.pk).update(dispatch_requested_at=now)
    document.dispatch_requested_at = now
    transaction.on_commit(functools.partial(dispatch_soon, kind=kind_name, document_id=document.pk))


def export_document_forward(*, kind: kinds.ExportKind, document: Declaration) -> None:
    """A declared order, receipt, waybill, arrival, departure or master bill goes to customs for
    its sender; a deletion goes too when customs holds a version (appType 3)."""
    status = document.status  # type: ignore[attr-defined]
    if status == DocumentStatus.DECLARED or (status == DocumentStatus.DELETED and document.customs_holds):  # type: ignore[attr-defined]
        export_document_mark(kind_name=kind.name, document=document)


def cancellation_mark(*, cancellation: ExportListCancellation) -> None:
    export_document_mark(kind_name=CANCELLATION_KIND, document=cancellation)


def dispatch_soon(*, kind: str, document_id: int) -> None:
    """Dispatch after the commit: by a Celery task, or here and now with tasks eager, no batching
    window (``CUSTOMS_BATCH_WINDOW_MS`` 0: sign at once, as the import gateway does) or the broker
    away. Whatever fails, the mark stays for the sweep."""
    if settings.CUSTOMS_BATCH_WINDOW_MS <= 0 or current_app.conf.task_always_eager:
        _dispatch_now(kind=kind, document_id=document_id)
        return
    try:
        current_app.send_task(DISPATCH_TASK, kwargs={"kind": kind, "document_id": document_id}, retry=False)
    except Exception:  # kombu and redis raise several types for a broker that is away
        logger.warning("export gateway: could not schedule the dispatch; dispatching now", exc_info=True)
        _dispatch_now(kind=kind, document_id=document_id)


def _dispatch_now(*, kind: str, document_id: int) -> None:
    try:
        export_dispatch(kind=kind, document_id=document_id)
    except Exception:
        logger.exception("export gateway: dispatching %s %s failed; the sweep sends it", kind, document_id)


def _declarant(kind: str, document: Any) -> Enterprise:
    code = document.export_list.agent_code if kind == CANCELLATION_KIND else document.sender.code
    if kind == "export_list":
        code = document.agent_code
    declarant = hub_selectors.enterprise_get_by_code(code=code)
    if declarant is None:
        raise GatewayRefusal(NOTE_NO_DECLARANT.format(code=code))
    return declarant


@transaction.atomic
def export_dispatch(*, kind: str, document_id: int) -> OutboxMessage | None:
    """Build, sign, check and enqueue the marked document (locked); None when there is nothing
    to send (gone, not marked, or refused: then the reason is recorded)."""
    document = _model(kind).select_for_update().filter(pk=document_id, dispatch_requested_at__isnull=False).first()
    if document is None:
        return None
    try:
        declarant = _declarant(kind, document)
        destination = _partner_code()
        if kind == CANCELLATION_KIND:
            spec, root = CANCELLATION, cancellation_message(cancellation=document, declarant=declarant)
            body = _signed(root, declarant)
        else:
            spec = kinds.KINDS[kind].spec
            forwarded = _forwardable(spec=spec, document=document, declarant=declarant)
            body = forwarded or _signed(document_message(spec=spec, document=document, declarant=declarant), declarant)
        body = _validated(body, message=spec.message)
    except GatewayRefusal as refusal:
        _not_sent(kind, document, refusal.note)
        return None
    message = outbox_enqueue(
        destination_kind=OutboxDestination.CUSTOMS,
        destination=destination,
        ordering_key=f"{kind}:{document.pk}",
        message_type=spec.message,
        payload=body,
        headers=XML_HEADERS,
    )
    update: dict[str, Any] = {"dispatch_requested_at": None, "message": message}
    if kind == CANCELLATION_KIND:
        update["status"] = ExportListCancellation.Status.SENT
    _model(kind).filter(pk=document.pk).update(**update)
    return message


def _not_sent(kind: str, document: Any, note: str) -> None:
    logger.warning("export gateway: %s %s not sent: %s", kind, document.pk, note)
    _model(kind).filter(pk=document.pk).update(dispatch_requested_at=None, customs_note=note[:1000])
    if kind == "export_list" and document.status == ExportListStatus.DECLARED:
        lifecycle.export_list_transition(export_list=document, to=ExportListStatus.SEND_FAILED, note=note)
    elif kind == CANCELLATION_KIND:
        _model(kind).filter(pk=document.pk).update(status=ExportListCancellation.Status.REJECTED)


def export_dispatch_sweep(*, older_than: datetime.timedelta = SWEEP_DELAY, limit: int = 200) -> int:
    """Dispatch what stayed marked longer than ``older_than`` (a lost task, a broker away)."""
    cutoff = timezone.now() - older_than
    sent = 0
    for kind in (*kinds.KINDS, CANCELLATION_KIND):
        for document_id in _model(kind).filter(dispatch_requested_at__lte=cutoff).values_list("pk", flat=True)[:limit]:
            sent += export_dispatch(kind=kind, document_id=document_id) is not None
    return sent


# --- What became of a message -----------------------------------------------------------------------


def _carried(message: OutboxMessage) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = [
        (kind, row) for kind in (*kinds.KINDS, CANCELLATION_KIND) for row in _model(kind).filter(message=message)
    ]
    return found


def on_failed(message: OutboxMessage) -> None:
    """Customs never took the message (dead, or refused as a whole): its document records why;
    a list still declared goes to send_failed."""
    note = NOTE_DEAD.format(error=message.last_error)
    for kind, document in _carried(message):
        _not_sent(kind, document, note)


def on_sent(message: OutboxMessage) -> None:
    """Customs took the message; its receipt will say what became of the document."""


def register() -> None:
    """Each export message's outcomes with the one customs sender (``customs.gateway``)."""
    for spec in SPECS.values():
        customs_gateway.register_message_outcomes(spec.message, MessageOutcomes(on_sent=on_sent, on_failed=on_failed))
