"""The customs gateway: declared lists leave for customs as signed CEB621 messages, a recorded
cancellation as a signed CEB623, a recorded return request as a signed CEB625, and declared
orders, payments and waybills as CEB311/411/511 sent for their senders (``document_forward``), through the hub's outbox.
Other parts build their own messages and hand them over signed (``enqueue_signed``: a delivery
notice's CEB513, an arrival manifest's CEB711); what becomes of those is told to the handlers
they register for their message type (``register_message_outcomes``), through the one customs
sender registered here.

Customs refuses a list not signed by the enterprise that declares it (-621015, DOMAIN.md
section 9), so every message is signed for that enterprise (a list's ``agentCode``, the sender
of an order, payment or waybill), never for the platform:

(a) a document that came in as customs XML the enterprise signed itself, in a message holding
    only that document, is forwarded as those exact bytes, one message per incoming message;
(b) otherwise the gateway builds the message from the stored rows (``declarations.customs.spec``
    gives the elements in the schema's order) and signs it rsa-sha1 with the declarant's active
    ``EnterpriseSigningKey``. Up to ``CUSTOMS_BATCH_MAX`` (100, the schema's limit) documents of
    one declarant and message type go in one message, under one signature;
(c) with no key (or no customs partner, or a message the schema refuses) nothing is sent: the
    list goes to ``send_failed`` with a note saying why (an order, payment or waybill keeps the
    note in ``customs_note``). No unsigned message ever leaves.

Packing, step by step:

1. The transaction that declares a document marks it (``dispatch_requested_at``,
   ``document_mark``): nothing accepted is lost whatever happens after the commit.
2. After the commit, the packing of its declarant and message type is scheduled
   ``CUSTOMS_BATCH_WINDOW_MS`` later (``pack_soon``), once per window: the documents marked
   meanwhile go together. Without a broker the packing runs at once.
3. The packing (``documents_pack``) claims the marked documents with ``SELECT ... FOR UPDATE
   SKIP LOCKED``, leaving those a message of whose is still on its way (its next version waits,
   so two versions of one document never overtake each other), builds one message per 100, signs
   it once, checks it against the schema and writes one outbox row with one
   ``CustomsMessageDocument`` per document it carries, all in the claiming transaction. A crash
   anywhere before the commit leaves the marks for the sweep (``dispatch_sweep``, every 30 s).
   A list a regulator holds (``ListHold`` in force, ``declarations.workbench``) is unmarked and
   not sent; releasing the hold marks it again.
4. Customs refusing a message of several documents as a whole (a CEB900 answer, or -621029 or
   -621030 in a list's receipt) splits it: each document is marked again and goes alone. A
   document refused alone follows the failure path: send_failed.

Every message validates against the customs schema before it is enqueued; the relay posts it
(``single_window.customs``). A CEB621 customs never took (the outbox gave up) puts its lists in
``send_failed``; a CEB623 or CEB625 is marked ``sent`` when it is enqueued (handed to the outbox
in the same transaction).
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, prefetch_related_objects
from django.utils import timezone
from lxml import etree

from core.crypto import decrypt_bytes, decrypt_text
from core.times import ceb_time
from declarations import kinds
from declarations.clearance import lifecycle
from declarations.customs import receipt_codes, xml
from declarations.customs.spec import (
    INVENTORY_CANCEL,
    INVENTORY_RETURN,
    INVENTORY_RETURN_LINE,
    DocumentSpec,
    Field,
    Kind,
)
from declarations.intake.amounts import amount_text
from declarations.kinds import DocumentType
from declarations.models import (
    CustomsMessageDocument,
    Declaration,
    DocumentStatus,
    Inventory,
    InventoryCancellation,
    InventoryReturn,
    InventoryStatus,
    InventoryStatusChange,
    ListHold,
    Order,
    Payment,
    StatusChangeSource,
    Waybill,
)
from single_window import selectors as hub_selectors
from single_window import services as hub_services
from single_window.customs import customs_partner, deliver_customs
from single_window.models import (
    OUTBOX_UNSENT_STATES,
    Enterprise,
    InboundMessage,
    OutboxDestination,
    OutboxMessage,
)
from single_window.outbox import outbox_enqueue, register_sender
from single_window.signatures import sign_message, usable_certificates, verify_message_signature

logger = logging.getLogger(__name__)

CEB621 = "CEB621Message"
CEB623 = "CEB623Message"
CEB625 = "CEB625Message"
XML_HEADERS = {"Content-Type": "application/xml"}
DXP_MODE = "DXP"
# A list customs has (some version of): it says so by these receipts.
LIST_HELD_RECEIPTS = (
    *("2", "3", "100", "120", "300", "399", "500", "501", "502", "503", "599", "700", "800", "899"),
    *receipt_codes.codes_with(receipt_codes.Effect.HELD_BY_CUSTOMS),
)
RETRY_RECEIPTS = receipt_codes.codes_with(receipt_codes.Effect.RETRY)
RESEND_FIRST_DELAY = datetime.timedelta(seconds=30)
RESEND_MAX_DELAY = datetime.timedelta(hours=1)
NOTE_NO_KEY = (
    "not sent: a signing key is needed; the declaring enterprise {code} has no active signing key "
    "(POST /api/v1/signing-keys), and customs takes only lists the declarant signed"
)
NOTE_NO_PARTNER = "not sent: no customs partner is configured (CUSTOMS_PARTNER_CODE)"
NOTE_NO_DECLARANT = "not sent: the declaring enterprise {code} is not registered with the single window"
NOTE_SCHEMA = "not sent: the message does not validate against the customs schema: {problem}"
NOTE_DEAD = "customs did not take the message: {error}"

# The schema allows 100 documents (Inventory, Order, Payment, Logistics) in one message.
SCHEMA_MAX_DOCUMENTS = 100
# The packing task (``declarations.tasks.customs_pack``), kicked by name: the tasks module
# imports this one.
PACK_TASK = "declarations.customs_pack"
# How long the mark "a packing of this declarant is scheduled" lives: past it (a lost task),
# the next declared document schedules another; the sweep packs what a lost one left.
PACK_SCHEDULED_SECONDS = 10
# A scheduled packing packs this many messages, then hands the rest to another run, so one
# busy declarant never holds a worker past its time limit.
PACK_ROUNDS = 20
SWEEP_DELAY = datetime.timedelta(seconds=30)


class GatewayRefusal(Exception):
    """The message can't leave; ``note`` says why, for the document's history."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note[:500]


class NoSigningKey(GatewayRefusal):
    """The declarant has no active signing key: no message of its can be signed."""


class SchemaRefusal(GatewayRefusal):
    """The message fails the schema (or its size): one of its documents, maybe only one."""


def ordering_key(inventory: Inventory) -> str:
    """A list's own key: its messages sent alone leave in order (a CEB623 waits for its CEB621)."""
    return f"inventory:{inventory.pk}"


# --- Building ---------------------------------------------------------------------------------


def _q(name: str) -> str:
    return f"{{{xml.CEB_NS}}}{name}"


def _text(field: Field, value: Any, scales: dict[str, int]) -> str:
    """A stored value as the message writes it; an amount at the scale it was accepted
    (``scales``, the row's ``amount_scales``), without trailing zeros when none was recorded."""
    if value is None:
        return ""
    if field.kind is Kind.TIMESTAMP and isinstance(value, datetime.datetime):
        return ceb_time(value)
    if field.kind is Kind.DATE and isinstance(value, datetime.date):
        return value.strftime("%Y%m%d")
    if field.kind is Kind.DECIMAL and isinstance(value, Decimal):
        return amount_text(value, scales.get(field.name))
    return str(value)


def _value(row: Any, field: Field) -> Any:
    if field.name.endswith("_id_number"):
        return decrypt_text(getattr(row, f"{field.name}_encrypted"))
    return getattr(row, field.name)


def _append_fields(parent: etree._Element, fields: tuple[Field, ...], values: dict[str, str]) -> None:
    """One element per field, in the specification's (and the schema's) order; optional empty
    fields are left out, required ones always written (the schema judges them)."""
    for field in fields:
        text = values.get(field.name, "")
        if text or field.required:
            etree.SubElement(parent, _q(field.xml)).text = text


def _base_transfer(root: etree._Element, declarant: Enterprise) -> None:
    transfer = etree.SubElement(root, _q("BaseTransfer"))
    for name, value in (
        ("copCode", declarant.code),
        ("copName", declarant.name[:100]),
        ("dxpMode", DXP_MODE),
        ("dxpId", settings.CUSTOMS_DXP_ID),
    ):
        etree.SubElement(transfer, _q(name)).text = value


def _message_root(message: str) -> etree._Element:
    root = etree.Element(_q(message), nsmap={"ceb": xml.CEB_NS})
    root.set("guid", xml.new_guid())
    root.set("version", xml.MESSAGE_VERSION)
    return root


def message_root(message: str) -> etree._Element:
    """The root of a message the gateway builds (a new guid, version 1.0)."""
    return _message_root(message)


def base_transfer(root: etree._Element, declarant: Enterprise) -> None:
    """The message's BaseTransfer, for ``declarant`` (the enterprise it is signed for)."""
    _base_transfer(root, declarant)


def ceb_name(name: str) -> str:
    """An element name in the customs namespace."""
    return _q(name)


def customs_holds(document: Declaration) -> bool:
    """Has customs taken a version of this document? A list: a receipt of its history says customs
    has it (a positive code other than 1 and 4, or -621004/-621008). An order, payment or waybill:
    a receipt 2, 3, 100 or 120 (``CustomsReceipt.customs_holds``)."""
    if isinstance(document, Inventory):
        return InventoryStatusChange.objects.filter(inventory=document, receipt_code__in=LIST_HELD_RECEIPTS).exists()
    return bool(getattr(document, "customs_holds", False))


def _lists_customs_holds(documents: Sequence[Declaration]) -> set[int]:
    """``customs_holds`` of many lists in one query: the ids of those customs holds."""
    ids = [document.pk for document in documents if isinstance(document, Inventory)]
    if not ids:
        return set()
    held = InventoryStatusChange.objects.filter(inventory_id__in=ids, receipt_code__in=LIST_HELD_RECEIPTS)
    return set(held.values_list("inventory_id", flat=True).distinct())


def _app_type(document: Declaration, *, holds: bool) -> str:
    if document.app_type != "1" and not holds:
        return "1"
    return document.app_type


def app_type_for(document: Declaration) -> str:
    """The appType a document goes out with: a change or deletion only of what customs holds.

    A version customs never took (the list was a draft, failed matching, could not be sent) goes
    out as new, whatever the enterprise's own history of changes: customs would refuse a change
    of a document it does not have (-621011, -301009).
    """
    return _app_type(document, holds=customs_holds(document))


def _append_document(root: etree._Element, spec: DocumentSpec, document: Declaration, *, app_type: str) -> None:
    """One document element: its head, its lines (order and list lines, by gnum)."""
    element = etree.SubElement(root, _q(spec.element))
    head = etree.SubElement(element, _q(spec.head_element))
    values = {f.name: _text(f, _value(document, f), document.amount_scales) for f in spec.head}
    values["app_type"] = app_type
    _append_fields(head, spec.head, values)
    if spec.lines:
        # The lines' own ordering is gnum; packed documents come with their lines prefetched.
        for item in document.items.all():  # type: ignore[attr-defined]
            line = etree.SubElement(element, _q(spec.line_element))
            _append_fields(
                line, spec.lines, {f.name: _text(f, getattr(item, f.name), item.amount_scales) for f in spec.lines}
            )


def documents_message(*, spec: DocumentSpec, documents: Sequence[Declaration], declarant: Enterprise) -> etree._Element:
    """The unsigned message of stored documents of one type (CEB311/411/511/621), in the order
    given: one element each, then BaseTransfer for ``declarant``."""
    if not 1 <= len(documents) <= SCHEMA_MAX_DOCUMENTS:
        msg = f"a message holds 1 to {SCHEMA_MAX_DOCUMENTS} documents, not {len(documents)}"
        raise ValueError(msg)
    root = _message_root(spec.message)
    held = _lists_customs_holds(documents)
    for document in documents:
        holds = document.pk in held if isinstance(document, Inventory) else customs_holds(document)
        _append_document(root, spec, document, app_type=_app_type(document, holds=holds))
    _base_transfer(root, declarant)
    return root


def document_message(*, spec: DocumentSpec, document: Declaration, declarant: Enterprise) -> etree._Element:
    """The unsigned message of one stored document."""
    return documents_message(spec=spec, documents=[document], declarant=declarant)


def inventory_message(*, inventory: Inventory, declarant: Enterprise) -> etree._Element:
    """The unsigned CEB621 of one stored list."""
    return document_message(spec=kinds.INVENTORY.spec, document=inventory, declarant=declarant)


def cancellation_message(*, cancellation: InventoryCancellation, declarant: Enterprise) -> etree._Element:
    """The unsigned CEB623 of a cancellation request: the list's keys, its buyer, the reason."""
    inventory = cancellation.inventory
    values = {
        f.name: _text(f, _value(inventory, f), inventory.amount_scales)
        for f in INVENTORY_CANCEL
        if f.name not in {"guid", "app_type", "app_time", "app_status", "reason", "note"}
    }
    values.update(
        guid=xml.new_guid(),
        app_type="1",
        app_time=ceb_time(cancellation.created_at),
        app_status="2",
        reason=cancellation.reason[:1000],
    )
    root = _message_root(CEB623)
    element = etree.SubElement(root, _q("InvtCancel"))
    _append_fields(element, INVENTORY_CANCEL, values)
    _base_transfer(root, declarant)
    return root


def return_message(*, inventory_return: InventoryReturn, declarant: Enterprise) -> etree._Element:
    """The unsigned CEB625 of a return request: the list's keys, its buyer, the reason (the
    head, as a cancellation's), then one line per line returned with its quantity."""
    inventory = inventory_return.inventory
    values = {
        f.name: _text(f, _value(inventory, f), inventory.amount_scales)
        for f in INVENTORY_RETURN
        if f.name not in {"guid", "app_type", "app_time", "app_status", "reason", "note"}
    }
    values.update(
        guid=inventory_return.guid,
        app_type="1",
        app_time=ceb_time(inventory_return.created_at),
        app_status="2",
        reason=inventory_return.reason[:1000],
    )
    root = _message_root(CEB625)
    element = etree.SubElement(root, _q("InvtRefund"))
    _append_fields(etree.SubElement(element, _q("InvtRefundHead")), INVENTORY_RETURN, values)
    for item in inventory_return.items.all():
        _append_fields(
            etree.SubElement(element, _q("InvtRefundList")),
            INVENTORY_RETURN_LINE,
            {f.name: _text(f, getattr(item, f.name, ""), {}) for f in INVENTORY_RETURN_LINE},
        )
    _base_transfer(root, declarant)
    return root


# --- Signing and checking ---------------------------------------------------------------------


def _serialize(root: etree._Element) -> bytes:
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def _declarant(inventory: Inventory) -> Enterprise:
    declarant = hub_selectors.enterprise_get_by_code(code=inventory.agent_code)
    if declarant is None:
        raise GatewayRefusal(NOTE_NO_DECLARANT.format(code=inventory.agent_code))
    return declarant


def _signed(root: etree._Element, declarant: Enterprise) -> bytes:
    """(b) the message signed with the declarant's active key; (c) refused without one."""
    key = hub_selectors.signing_key_active(enterprise=declarant)
    if key is None:
        raise NoSigningKey(NOTE_NO_KEY.format(code=declarant.code))
    signed = sign_message(
        root=root,
        private_key_pem=hub_services.signing_key_private_pem(signing_key=key),
        certificate_pem=key.certificate_pem.encode(),
    )
    return _serialize(signed)


def _forwardable(
    *, spec: DocumentSpec, guid: str, message: InboundMessage | None, declarant: Enterprise, app_type: str
) -> bytes | None:
    """(a) The bytes the enterprise signed, when they can go as they came.

    ``message`` is the customs XML the document came in (None: JSON). It must come from the
    declarant and hold this document alone (same head guid, declared: appStatus 2, the appType
    customs expects: ``app_type_for``), and its signature must still verify with a certificate
    of the declarant in force now.
    """
    if message is None or message.sender_id != declarant.pk:
        return None
    body = decrypt_bytes(message.body_encrypted)
    try:
        root = xml.read_message(body, expected_message=spec.message)
    except xml.MessageRejected:
        return None
    documents = root.findall(_q(spec.element))
    if len(documents) != 1:
        return None
    head = documents[0].find(_q(spec.head_element))
    if head is None or head.findtext(_q("guid")) != guid or head.findtext(_q("appStatus")) != "2":
        return None
    if head.findtext(_q("appType")) != app_type:
        return None
    check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=declarant))
    return body if check.verified else None


def _validated(body: bytes, *, message: str) -> bytes:
    """Check what leaves against the customs schema (and the size limit), as it will be read."""
    try:
        xml.read_message(body, expected_message=message)
    except xml.MessageRejected as rejected:
        raise SchemaRefusal(NOTE_SCHEMA.format(problem=rejected.return_info)) from None
    return body


def _partner_code() -> str:
    partner = customs_partner()
    if partner is None:
        raise GatewayRefusal(NOTE_NO_PARTNER)
    return partner.code


# --- Marking and scheduling -------------------------------------------------------------------


def batch_max() -> int:
    """Documents per message: ``CUSTOMS_BATCH_MAX``, at most the schema's 100."""
    return max(1, min(int(settings.CUSTOMS_BATCH_MAX), SCHEMA_MAX_DOCUMENTS))


def _group_field(kind: DocumentType) -> str:
    """What ties the documents one message may carry: the declarant that signs it (a list's
    agentCode; the sender of an order, payment or waybill version)."""
    return "agent_code" if kind.is_list else "sender_id"


def _rows(kind: DocumentType) -> QuerySet[Any]:
    """The documents of ``kind``. Typed loosely: the columns written here (``dispatch_requested_at``,
    ``customs_note``...) are on the four document models, not on their abstract base."""
    manager: Any = kind.model._default_manager
    rows: QuerySet[Any] = manager.all()
    return rows


def _group(kind: DocumentType, document: Declaration) -> str:
    return str(getattr(document, _group_field(kind)))


def document_mark(*, kind: DocumentType, document: Declaration) -> None:
    """Mark the document's current version for the gateway, in the caller's transaction (the
    one that declared it); once it commits, its declarant's packing is scheduled."""
    now = timezone.now()
    _rows(kind).filter(pk=document.pk).update(dispatch_requested_at=now)
    document.dispatch_requested_at = now  # type: ignore[attr-defined]
    transaction.on_commit(functools.partial(pack_soon, kind=kind.name, group=_group(kind, document)))


def _scheduled_key(kind: str, group: str) -> str:
    return f"customs-pack:{kind}:{group}"


def pack_soon(*, kind: str, group: str) -> None:
    """Pack the marked documents of one declarant and type in ``CUSTOMS_BATCH_WINDOW_MS``.

    One packing is scheduled per window: a cache key says one is on its way, and the packing
    removes it when it starts, so a document marked after that schedules the next. With a window
    of 0, tasks run eagerly or the broker away, the packing runs here and now. Whatever fails,
    the marks stay for the sweep.
    """
    window = settings.CUSTOMS_BATCH_WINDOW_MS / 1000
    if window <= 0 or current_app.conf.task_always_eager:
        _pack_now(kind=kind, group=group)
        return
    key = _scheduled_key(kind, group)
    try:
        if not cache.add(key, "1", timeout=PACK_SCHEDULED_SECONDS):
            return  # the scheduled packing takes this document too
    except Exception:  # a cache that is away costs only a packing more
        logger.warning("gateway: cache unavailable; scheduling a packing anyway", exc_info=True)
    try:
        current_app.send_task(PACK_TASK, kwargs={"kind": kind, "group": group}, countdown=window, retry=False)
    except Exception:  # kombu and redis raise several types for a broker that is away
        logger.warning("gateway: could not schedule the packing; packing now", exc_info=True)
        _forget_scheduled(kind, group)
        _pack_now(kind=kind, group=group)


def _forget_scheduled(kind: str, group: str) -> None:
    try:
        cache.delete(_scheduled_key(kind, group))
    except Exception:  # the key then lapses by itself
        logger.warning("gateway: cache unavailable; the packing mark lapses by itself", exc_info=True)


def _pack_now(*, kind: str, group: str) -> int:
    """Pack in this process; a failure is logged and left to the sweep."""
    try:
        return documents_pack(kind=kind, group=group)
    except Exception:
        logger.exception("gateway: packing %s of %s failed; the sweep sends them", kind, group)
        return 0


# --- Packing ------------------------------------------------------------------------------------


def _on_its_way(kind: DocumentType) -> QuerySet[CustomsMessageDocument]:
    """The unsent messages that carry a version of the document (``OuterRef("pk")``): pending,
    being sent, or dead and not split. Its next version waits for them."""
    return CustomsMessageDocument.objects.filter(
        **{kind.name: OuterRef("pk")}, split_at__isnull=True, message__state__in=OUTBOX_UNSENT_STATES
    )


def documents_pack(*, kind: str, group: str, rounds: int | None = None) -> int:
    """Pack the due, marked documents of one declarant (``group``, see ``_group_field``) and type
    into messages of up to ``batch_max()``; returns how many documents were claimed.

    ``rounds`` bounds the messages of one run; when it ran out with more left, another packing
    is scheduled.
    """
    document_type = kinds.kind_of(kind)
    _forget_scheduled(kind, group)
    limit = batch_max()
    claimed = done = 0
    while rounds is None or done < rounds:
        found, taken = _pack_once(document_type, group, limit)
        claimed += taken
        done += 1
        if found < limit:
            return claimed
    pack_soon(kind=kind, group=group)
    return claimed


def _pack_once(kind: DocumentType, group: str, limit: int) -> tuple[int, int]:
    """One message's worth, in one transaction: claim, unmark, build, sign, check, enqueue.
    Returns how many documents were found and how many of them were claimed.

    1. Lock up to ``limit`` due, marked documents of the group that nobody else holds (SKIP
       LOCKED), oldest mark first, leaving those with a message on its way.
    2. Look again, in a new snapshot, for a message on its way: one committed since the claim's
       snapshot leaves its document marked, to wait.
    3. Unmark the rest and send what may still go (``_send``); a list no longer declared, or a
       document no longer declared (nor deleted while customs holds it), is only unmarked.
    """
    with transaction.atomic():
        # 1.
        rows = list(
            _rows(kind)
            .select_for_update(skip_locked=True)
            .filter(**{_group_field(kind): group}, dispatch_requested_at__lte=timezone.now())
            .exclude(Exists(_on_its_way(kind)))
            .order_by("dispatch_requested_at", "id")[:limit]
        )
        if not rows:
            return 0, 0
        # 2.
        waiting = set(
            CustomsMessageDocument.objects.filter(
                **{f"{kind.name}__in": rows}, split_at__isnull=True, message__state__in=OUTBOX_UNSENT_STATES
            ).values_list(f"{kind.name}_id", flat=True)
        )
        claimed = [row for row in rows if row.pk not in waiting]
        # 3.
        _rows(kind).filter(pk__in=[row.pk for row in claimed]).update(dispatch_requested_at=None)
        for row in claimed:
            row.dispatch_requested_at = None
        held = _held_by_regulator(kind, claimed)
        sendable = [row for row in claimed if _sendable(row) and row.pk not in held]
        if sendable and settings.CUSTOMS_GATEWAY_ENABLED:
            _send(kind, sendable)
        return len(rows), len(claimed)


def _held_by_regulator(kind: DocumentType, documents: Sequence[Declaration]) -> set[int]:
    """The lists among ``documents`` a regulator holds (``declarations.workbench``): they are
    unmarked and not sent; releasing the hold marks them again."""
    if not kind.is_list or not documents:
        return set()
    holds = ListHold.objects.filter(inventory_id__in=[d.pk for d in documents], released_at__isnull=True)
    return set(holds.values_list("inventory_id", flat=True))


def _sendable(document: Declaration) -> bool:
    if isinstance(document, Inventory):
        return document.status == InventoryStatus.DECLARED
    status = getattr(document, "status", "")
    return status == DocumentStatus.DECLARED or (status == DocumentStatus.DELETED and customs_holds(document))


def _send(kind: DocumentType, documents: list[Declaration]) -> None:
    """Send claimed documents of one declarant: (a) each list the agent signed itself as it came;
    a document a refused message was split from alone; the others together."""
    try:
        destination = _partner_code()
        first = documents[0]
        declarant = _declarant(first) if isinstance(first, Inventory) else first.sender
    except GatewayRefusal as refusal:
        for document in documents:
            _not_sent(kind, document, refusal)
        return
    if kind.line_model is not None:
        prefetch_related_objects(documents, "items")
    alone = _split_from_others(kind, documents)
    together: list[Declaration] = []
    for document in documents:
        if isinstance(document, Inventory) and _forward_list(document, declarant, destination):
            continue
        if document.pk in alone:
            _pack_and_enqueue(kind, [document], declarant=declarant, destination=destination)
        else:
            together.append(document)
    for start in range(0, len(together), batch_max()):
        _pack_and_enqueue(kind, together[start : start + batch_max()], declarant=declarant, destination=destination)


def _forward_list(inventory: Inventory, declarant: Enterprise, destination: str) -> bool:
    """(a) Enqueue the list's own signed message, if it can go as it came."""
    if inventory.source_message_id is None:
        return False
    body = _forwardable(
        spec=kinds.INVENTORY.spec,
        guid=inventory.guid,
        message=inventory.source_message,
        declarant=declarant,
        app_type=app_type_for(inventory),
    )
    if body is None:
        return False
    try:
        body = _validated(body, message=CEB621)
    except GatewayRefusal as refusal:
        _not_sent(kinds.INVENTORY, inventory, refusal)
        return True
    _enqueue(kinds.INVENTORY, [inventory], body=body, destination=destination, key=ordering_key(inventory))
    return True


def _split_from_others(kind: DocumentType, documents: Sequence[Declaration]) -> set[int]:
    """The documents whose current version went in a message customs refused as a whole: they
    go alone now."""
    versions = {document.pk: document.version for document in documents}
    split = CustomsMessageDocument.objects.filter(
        **{f"{kind.name}__in": list(versions)}, split_at__isnull=False
    ).values_list(f"{kind.name}_id", "version")
    return {pk for pk, version in split if versions.get(pk) == version}


def _pack_and_enqueue(
    kind: DocumentType, documents: list[Declaration], *, declarant: Enterprise, destination: str
) -> None:
    """(b) One message of ``documents``, signed once; (c) refused: each document's failure path.
    A message the schema refuses is tried again one document at a time, so one bad document
    does not hold back the others."""
    try:
        root = documents_message(spec=kind.spec, documents=documents, declarant=declarant)
        body = _validated(_signed(root, declarant), message=kind.message)
    except SchemaRefusal as refusal:
        if len(documents) == 1:
            _not_sent(kind, documents[0], refusal)
            return
        for document in documents:
            _pack_and_enqueue(kind, [document], declarant=declarant, destination=destination)
        return
    except GatewayRefusal as refusal:
        for document in documents:
            _not_sent(kind, document, refusal)
        return
    key = f"{kind.name}:{documents[0].pk}" if len(documents) == 1 else f"{kind.name}-batch:{root.get('guid')}"
    _enqueue(kind, documents, body=body, destination=destination, key=key)


def _enqueue(
    kind: DocumentType, documents: Sequence[Declaration], *, body: bytes, destination: str, key: str
) -> OutboxMessage:
    """One outbox row, and one ``CustomsMessageDocument`` per document it carries, at its version."""
    message = outbox_enqueue(
        destination_kind=OutboxDestination.CUSTOMS,
        destination=destination,
        ordering_key=key,
        message_type=kind.message,
        payload=body,
        headers=XML_HEADERS,
    )
    CustomsMessageDocument.objects.bulk_create(
        [
            CustomsMessageDocument(
                message=message, position=position, version=document.version, **{kind.name: document}
            )
            for position, document in enumerate(documents)
        ]
    )
    return message


def _not_sent(kind: DocumentType, document: Declaration, refusal: GatewayRefusal) -> None:
    """(c) A list goes to send_failed with the reason. An order, payment or waybill keeps the
    reason in ``customs_note``; one whose sender has no key is left to declare itself."""
    logger.warning("gateway: %s %s not sent: %s", kind, document.pk, refusal.note)
    if isinstance(document, Inventory):
        lifecycle.inventory_transition(
            inventory=document,
            to=InventoryStatus.SEND_FAILED,
            source=StatusChangeSource.SINGLE_WINDOW,
            note=refusal.note,
        )
        return
    note = "" if isinstance(refusal, NoSigningKey) else refusal.note
    _rows(kind).filter(pk=document.pk).update(customs_status="", customs_note=note)
    document.customs_status, document.customs_note = "", note  # type: ignore[attr-defined]


def dispatch_sweep(*, older_than: datetime.timedelta = SWEEP_DELAY, limit: int = 200) -> int:
    """Pack the documents left marked longer than ``older_than``: a packing lost between commit
    and enqueue (a crash, a lost task, a broker away), a document that waited for its previous
    message, or a resend customs asked for. Returns how many documents were claimed."""
    cutoff = timezone.now() - older_than
    claimed = 0
    for kind in kinds.KINDS.values():
        field = _group_field(kind)
        due = _rows(kind).filter(dispatch_requested_at__lte=cutoff)
        for group in due.order_by(field).values_list(field, flat=True).distinct()[:limit]:
            claimed += _pack_now(kind=kind.name, group=str(group))
    return claimed


def inventory_resend_later(*, inventory: Inventory) -> None:
    """Customs asked for the list again (a "请重试" code, ``receipt_codes``): dispatch it again after
    a backoff that doubles with each such answer; past ``MAX_RETRIES`` it goes to send_failed."""
    if inventory.status != InventoryStatus.DECLARED:
        return  # sent again already, or moved on: nothing is waiting to be resent
    # Counted since the list was last declared: an earlier version's requests are not this one's.
    declared_at = (
        InventoryStatusChange.objects.filter(inventory=inventory, to_status=InventoryStatus.DECLARED, receipt_code="")
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    retries = InventoryStatusChange.objects.filter(inventory=inventory, receipt_code__in=RETRY_RECEIPTS)
    if declared_at is not None:
        retries = retries.filter(created_at__gte=declared_at)
    asked = retries.count()
    if asked > receipt_codes.MAX_RETRIES:
        lifecycle.inventory_transition(
            inventory=inventory,
            to=InventoryStatus.SEND_FAILED,
            source=StatusChangeSource.SINGLE_WINDOW,
            note=f"customs asked for the list {asked} times; given up",
        )
        return
    delay = min(RESEND_FIRST_DELAY * 2 ** max(asked - 1, 0), RESEND_MAX_DELAY)
    # Marked in the future: the sweep packs it once the backoff has passed.
    Inventory.objects.filter(pk=inventory.pk, status=InventoryStatus.DECLARED).update(
        dispatch_requested_at=timezone.now() + delay
    )


def _key_after_previous(kind: DocumentType, document: Declaration) -> str:
    """The ordering key of a message sent alone about ``document``: that of the unsent message
    carrying an earlier version, if any, so the relay sends it after that one; else its own."""
    previous = (
        CustomsMessageDocument.objects.filter(
            **{kind.name: document}, split_at__isnull=True, message__state__in=OUTBOX_UNSENT_STATES
        )
        .select_related("message")
        .order_by("-message_id")
        .first()
    )
    return previous.message.ordering_key if previous is not None else f"{kind.name}:{document.pk}"


def document_forward(
    *, kind: DocumentType, document: Declaration, source_message: InboundMessage | None = None
) -> OutboxMessage | None:
    """Send an order, payment or waybill that has just been declared (CEB311/411/511), or
    deleted while customs holds a version of it (appType 3, ``app_type_for``), to customs for
    the enterprise that sent this version (``Declaration.sender``): (a) its own signed XML when
    it came alone in its message, enqueued now, after any unsent message of an earlier version;
    else (b) marked for the gateway, which packs it with the sender's other documents and signs
    them with its active key. Never with another enterprise's key: each version's sender is the
    one who sent it.

    A sender with neither is left alone (it may declare to customs itself): nothing is sent or
    recorded. Any other refusal (no customs partner, a message the schema refuses) is written to
    the document's ``customs_note``; the document stays declared. Runs in the transaction that
    stored the document (``services.document_submit``); returns the outbox row of (a), or None.
    """
    if not settings.CUSTOMS_GATEWAY_ENABLED or not isinstance(document, Order | Payment | Waybill):
        return None
    # A deletion (appType 3) goes only where customs holds a version: there is nothing to delete
    # at customs otherwise. (While a list built on it is at customs, intake refuses the deletion.)
    deletion = document.status == DocumentStatus.DELETED and customs_holds(document)
    if document.status != DocumentStatus.DECLARED and not deletion:
        return None
    spec = kind.spec
    sender = document.sender
    # This version's receipts start afresh (an earlier version's final answer no longer holds),
    # and an earlier version still marked is not sent: this one replaces it.
    if document.customs_status or document.customs_note or document.dispatch_requested_at is not None:
        _rows(kind).filter(pk=document.pk).update(customs_status="", customs_note="", dispatch_requested_at=None)
    document.customs_status = document.customs_note = ""
    document.dispatch_requested_at = None
    body = _forwardable(
        spec=spec, guid=document.guid, message=source_message, declarant=sender, app_type=app_type_for(document)
    )
    if body is None:
        if hub_selectors.signing_key_usable(enterprise=sender):
            document_mark(kind=kind, document=document)
        # Otherwise the sender declares this version itself: customs' answer to an earlier
        # version the gateway sent no longer speaks for it (cleared above).
        return None
    try:
        destination = _partner_code()
        body = _validated(body, message=spec.message)
    except GatewayRefusal as refusal:
        _not_sent(kind, document, refusal)
        return None
    return _enqueue(kind, [document], body=body, destination=destination, key=_key_after_previous(kind, document))


@transaction.atomic
def cancellation_send(*, cancellation: InventoryCancellation) -> OutboxMessage | None:
    """Send a recorded cancellation as a signed CEB623 and mark it sent (handed to the outbox),
    after the message carrying the list if that is still unsent.

    Raises ``GatewayRefusal`` when it can't be signed or sent: the caller refuses the request,
    so no cancellation is recorded that can't leave.
    """
    if not settings.CUSTOMS_GATEWAY_ENABLED or cancellation.status != InventoryCancellation.Status.RECORDED:
        return None
    inventory = cancellation.inventory
    destination = _partner_code()
    declarant = _declarant(inventory)
    body = _validated(
        _signed(cancellation_message(cancellation=cancellation, declarant=declarant), declarant), message=CEB623
    )
    message = outbox_enqueue(
        destination_kind=OutboxDestination.CUSTOMS,
        destination=destination,
        ordering_key=_key_after_previous(kinds.INVENTORY, inventory),
        message_type=CEB623,
        payload=body,
        headers=XML_HEADERS,
    )
    InventoryCancellation.objects.filter(pk=cancellation.pk, status=InventoryCancellation.Status.RECORDED).update(
        status=InventoryCancellation.Status.SENT
    )
    cancellation.status = InventoryCancellation.Status.SENT
    return message


@transaction.atomic
def return_send(*, inventory_return: InventoryReturn, signed_body: bytes | None = None) -> OutboxMessage | None:
    """Send a recorded return request as a CEB625 and mark it sent (handed to the outbox), after
    the message carrying the list if that is still unsent.

    ``signed_body``: the declarant's own signed CEB625 holding this return alone, forwarded as
    it came; otherwise the message is built and signed with the declarant's active key. Raises
    ``GatewayRefusal`` when it can't be signed or sent: the caller refuses the request, so no
    return is recorded that can't leave.
    """
    if not settings.CUSTOMS_GATEWAY_ENABLED or inventory_return.status != InventoryReturn.Status.RECORDED:
        return None
    inventory = inventory_return.inventory
    destination = _partner_code()
    if signed_body is None:
        declarant = _declarant(inventory)
        signed_body = _signed(return_message(inventory_return=inventory_return, declarant=declarant), declarant)
    body = _validated(signed_body, message=CEB625)
    message = outbox_enqueue(
        destination_kind=OutboxDestination.CUSTOMS,
        destination=destination,
        ordering_key=_key_after_previous(kinds.INVENTORY, inventory),
        message_type=CEB625,
        payload=body,
        headers=XML_HEADERS,
    )
    now = timezone.now()
    InventoryReturn.objects.filter(pk=inventory_return.pk, status=InventoryReturn.Status.RECORDED).update(
        status=InventoryReturn.Status.SENT, sent_at=now
    )
    inventory_return.status, inventory_return.sent_at = InventoryReturn.Status.SENT, now
    return message


def enqueue_signed(
    *, root: etree._Element, declarant: Enterprise, message_type: str, ordering_key: str
) -> OutboxMessage:
    """Sign ``root`` for ``declarant`` with its active key, check it against the schema and put
    it in the outbox to customs, in the caller's transaction. Raises ``GatewayRefusal`` (no
    customs partner, ``NoSigningKey``, ``SchemaRefusal``): nothing is enqueued then. What
    becomes of the message is told to the handlers registered for its type
    (``register_message_outcomes``)."""
    destination = _partner_code()
    body = _validated(_signed(root, declarant), message=message_type)
    return outbox_enqueue(
        destination_kind=OutboxDestination.CUSTOMS,
        destination=destination,
        ordering_key=ordering_key,
        message_type=message_type,
        payload=body,
        headers=XML_HEADERS,
    )


def key_after_previous_waybill(waybill: Waybill) -> str:
    """The ordering key of a message about ``waybill``: after its CEB511 if that is still unsent."""
    return _key_after_previous(kinds.WAYBILL, waybill)


# --- What became of a message -------------------------------------------------------------------


@dataclass(frozen=True)
class MessageOutcomes:
    """What to do when a message of one type (not a document message: a CEB513, a CEB711) was
    sent, or never reached customs (dead, or refused as a whole)."""

    on_sent: Callable[[OutboxMessage], None]
    on_failed: Callable[[OutboxMessage], None]


_OUTCOMES: dict[str, MessageOutcomes] = {}


def register_message_outcomes(message_type: str, outcomes: MessageOutcomes) -> None:
    """Called once per message type, at start-up, by the part that builds those messages: the
    customs sender (registered once, ``register``) hands them their messages' outcomes."""
    if message_type in _OUTCOMES:
        msg = f"the outcomes of {message_type} are already registered"
        raise ImproperlyConfigured(msg)
    _OUTCOMES[message_type] = outcomes


def _carried(message: OutboxMessage) -> list[tuple[DocumentType, CustomsMessageDocument]]:
    rows = CustomsMessageDocument.objects.filter(message=message).order_by("position")
    return [(kind, row) for row in rows for kind in kinds.KINDS.values() if getattr(row, f"{kind.name}_id") is not None]


def _current(kind: DocumentType, row: CustomsMessageDocument) -> Declaration | None:
    """The document of ``row`` if it is still at the version the message carried."""
    document_id = getattr(row, f"{kind.name}_id")
    found: Declaration | None = _rows(kind).filter(pk=document_id, version=row.version).first()
    return found


def on_customs_dead(message: OutboxMessage) -> None:
    """The outbox gave up on a message: customs never took the documents it carries. A list still
    declared at that version goes to send_failed (an enterprise may declare it again); an order,
    payment or waybill keeps the reason in ``customs_note``. Runs in the transaction that marks
    the message dead."""
    outcomes = _OUTCOMES.get(message.message_type)
    if outcomes is not None:
        outcomes.on_failed(message)
        return
    note = NOTE_DEAD.format(error=message.last_error)[:500]
    carried = _carried(message)
    if not carried:
        # A message enqueued before messages recorded what they carry: its ordering key names the list.
        prefix, _, pk = message.ordering_key.partition(":")
        if message.message_type == CEB621 and prefix == "inventory" and pk.isdigit():
            inventory = Inventory.objects.filter(pk=int(pk), status=InventoryStatus.DECLARED).first()
            if inventory is not None:
                _not_sent(kinds.INVENTORY, inventory, GatewayRefusal(note))
        return
    for kind, row in carried:
        document = _current(kind, row)
        if document is None or (isinstance(document, Inventory) and document.status != InventoryStatus.DECLARED):
            continue  # moved on since: this message no longer speaks for it
        _not_sent(kind, document, GatewayRefusal(note))


def on_customs_refused(message: OutboxMessage) -> None:
    """Customs refused a message as a whole (CEB900). Alone, its document follows the failure path
    (``on_customs_dead``); with others, each goes again in a message of its own
    (``_send_alone``), so one bad document does not sink the rest."""
    outcomes = _OUTCOMES.get(message.message_type)
    if outcomes is not None:
        outcomes.on_failed(message)
        return
    carried = _carried(message)
    if len(carried) <= 1:
        on_customs_dead(message)
        return
    for kind, row in carried:
        _send_alone(kind, row)


def _send_alone(kind: DocumentType, row: CustomsMessageDocument) -> bool:
    """Mark ``row`` split and, if its document is still at that version and may go, mark the
    document for dispatch: the packing sends it alone. False if the row was split before."""
    if not CustomsMessageDocument.objects.filter(pk=row.pk, split_at__isnull=True).update(split_at=timezone.now()):
        return False
    document = _current(kind, row)
    if document is not None and _sendable(document) and not _held_by_regulator(kind, [document]):
        document_mark(kind=kind, document=document)
    return True


def went_with_others(*, kind: DocumentType, document: Declaration) -> CustomsMessageDocument | None:
    """The row of the message that last carried the document's current version, when that message
    carried other documents too and was not split for it yet; else None."""
    row = (
        CustomsMessageDocument.objects.filter(**{kind.name: document}, version=document.version)
        .order_by("-message_id")
        .first()
    )
    if row is None or row.split_at is not None:
        return None
    others = CustomsMessageDocument.objects.filter(message_id=row.message_id).exclude(pk=row.pk)
    return row if others.exists() else None


def document_send_alone(*, kind: DocumentType, row: CustomsMessageDocument) -> bool:
    """Customs refused, for this document, the whole message it went in (a receipt -621029,
    -621030: ``receipt_codes.MESSAGE_REFUSALS``): it goes again alone. False if it did already."""
    return _send_alone(kind, row)


def on_customs_sent(message: OutboxMessage) -> None:
    """A message reached customs: a later version of a document it carried may be waiting for
    it (marked, not packed); its packing is scheduled after this commit."""
    outcomes = _OUTCOMES.get(message.message_type)
    if outcomes is not None:
        outcomes.on_sent(message)
        return
    groups: set[tuple[str, str]] = set()
    carried = _carried(message)
    for kind in {kind for kind, _row in carried}:
        ids = [getattr(row, f"{kind.name}_id") for found, row in carried if found is kind]
        waiting = _rows(kind).filter(pk__in=ids, dispatch_requested_at__lte=timezone.now())
        groups.update((kind.name, str(group)) for group in waiting.values_list(_group_field(kind), flat=True))
    for kind_name, group in sorted(groups):
        transaction.on_commit(functools.partial(pack_soon, kind=kind_name, group=group))


def register() -> None:
    """The customs kind's one registration: the hub's generic sender posts the bytes; a message
    customs never took puts its lists in send_failed, one it refused as a whole is split, and
    one it took lets a waiting next version go."""
    register_sender(
        OutboxDestination.CUSTOMS,
        deliver_customs,
        on_dead=on_customs_dead,
        on_refused=on_customs_refused,
        on_sent=on_customs_sent,
    )
