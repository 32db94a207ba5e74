"""The customs gateway: a declared list leaves for customs as a signed CEB621, a recorded
cancellation as a signed CEB623, and a declared order, payment or waybill as a CEB311/411/511
forwarded for its sender (``document_forward``), through the hub's outbox.

Customs refuses a list not signed by the enterprise that declares it (-621015, DOMAIN.md
section 9), so every message is signed for that enterprise (``agentCode``), never for the
platform:

(a) a list that came in as customs XML the enterprise signed itself, in a message holding only
    that list, is forwarded as those exact bytes (``Inventory.source_message``);
(b) otherwise the message is built from the stored list (``declarations.customs.spec`` gives the
    elements in the schema's order) and signed rsa-sha1 with the declaring enterprise's active
    ``EnterpriseSigningKey``;
(c) with no key (or no customs partner, or a message the schema refuses) nothing is sent: the
    list goes to ``send_failed`` with a note saying why. No unsigned message ever leaves.

Every message validates against the customs schema before it is enqueued. A list is signed
after the transaction that declared it has committed (``inventory_dispatch``, called by the
declare step and its sweep), so signing never holds the parcel's or the quota's locks; the
relay posts it after commit (``single_window.customs``). A CEB621
that customs never took (the outbox gave up) puts the list in ``send_failed``; a CEB623 is
marked ``sent`` when it is enqueued (handed to the outbox in the same transaction).
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from lxml import etree

from core.crypto import decrypt_bytes, decrypt_text
from core.times import ceb_time
from declarations.clearance import lifecycle
from declarations.customs import receipt_codes, xml
from declarations.customs.spec import INVENTORY, INVENTORY_CANCEL, DocumentSpec, Field, Kind
from declarations.intake.amounts import amount_text
from declarations.kinds import DocumentType
from declarations.models import (
    Declaration,
    DocumentStatus,
    Inventory,
    InventoryCancellation,
    InventoryStatus,
    InventoryStatusChange,
    Order,
    Payment,
    StatusChangeSource,
    Waybill,
)
from single_window import selectors as hub_selectors
from single_window import services as hub_services
from single_window.customs import customs_partner, deliver_customs
from single_window.models import Enterprise, InboundMessage, OutboxDestination, OutboxMessage
from single_window.outbox import outbox_enqueue, register_sender
from single_window.signatures import sign_message, usable_certificates, verify_message_signature

logger = logging.getLogger(__name__)

CEB621 = "CEB621Message"
CEB623 = "CEB623Message"
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

# A list customs has (some version of): it says so by these receipts.
LIST_HELD_RECEIPTS = ("2", "3", "100", "120", "300", "399", "500", "501", "502", "503", "599", "700", "800", "899")
LIST_HELD_RECEIPTS = (*LIST_HELD_RECEIPTS, *receipt_codes.codes_with(receipt_codes.Effect.HELD_BY_CUSTOMS))
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


class GatewayRefusal(Exception):
    """The message can't leave; ``note`` says why, for the list's history."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note[:500]


def ordering_key(inventory: Inventory) -> str:
    """Every message about one list leaves in order (a CEB623 waits for its CEB621)."""
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


def customs_holds(document: Declaration) -> bool:
    """Has customs taken a version of this document? A list: a receipt of its history says customs
    has it (a positive code other than 1 and 4, or -621004/-621008). An order, payment or waybill:
    a receipt 2, 3, 100 or 120 (``CustomsReceipt.customs_holds``)."""
    if isinstance(document, Inventory):
        return InventoryStatusChange.objects.filter(inventory=document, receipt_code__in=LIST_HELD_RECEIPTS).exists()
    return bool(getattr(document, "customs_holds", False))


def app_type_for(document: Declaration) -> str:
    """The appType a document goes out with: a change or deletion only of what customs holds.

    A version customs never took (the list was a draft, failed matching, could not be sent) goes
    out as new, whatever the enterprise's own history of changes: customs would refuse a change
    of a document it does not have (-621011, -301009).
    """
    if document.app_type != "1" and not customs_holds(document):
        return "1"
    return document.app_type


def document_message(*, spec: DocumentSpec, document: Declaration, declarant: Enterprise) -> etree._Element:
    """The unsigned message of one stored document (CEB311/411/511/621): its head, its lines
    (order and list lines, by gnum), BaseTransfer."""
    root = _message_root(spec.message)
    element = etree.SubElement(root, _q(spec.element))
    head = etree.SubElement(element, _q(spec.head_element))
    values = {f.name: _text(f, _value(document, f), document.amount_scales) for f in spec.head}
    values["app_type"] = app_type_for(document)
    _append_fields(head, spec.head, values)
    if spec.lines:
        for item in document.items.order_by("gnum"):  # type: ignore[attr-defined]
            line = etree.SubElement(element, _q(spec.line_element))
            _append_fields(
                line, spec.lines, {f.name: _text(f, getattr(item, f.name), item.amount_scales) for f in spec.lines}
            )
    _base_transfer(root, declarant)
    return root


def inventory_message(*, inventory: Inventory, declarant: Enterprise) -> etree._Element:
    """The unsigned CEB621 of one stored list."""
    return document_message(spec=INVENTORY, document=inventory, declarant=declarant)


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
        raise GatewayRefusal(NOTE_NO_KEY.format(code=declarant.code))
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
    """Check what leaves against the customs schema, as it will be read."""
    try:
        xml.read_message(body, expected_message=message)
    except xml.MessageRejected as rejected:
        raise GatewayRefusal(NOTE_SCHEMA.format(problem=rejected.return_info)) from None
    return body


def _partner_code() -> str:
    partner = customs_partner()
    if partner is None:
        raise GatewayRefusal(NOTE_NO_PARTNER)
    return partner.code


# --- Sending ----------------------------------------------------------------------------------


def inventory_send(*, inventory: Inventory) -> OutboxMessage | None:
    """Send a list that has just become declared: (a) forward, (b) sign, (c) send_failed.

    Runs with the list's row locked, after the transaction that declared it
    (``inventory_dispatch``); returns the outbox row, or None when nothing was sent.
    """
    if not settings.CUSTOMS_GATEWAY_ENABLED:
        return None
    try:
        destination = _partner_code()
        declarant = _declarant(inventory)
        body = _forwardable(
            spec=INVENTORY,
            guid=inventory.guid,
            message=inventory.source_message,
            declarant=declarant,
            app_type=app_type_for(inventory),
        )
        if body is None:
            body = _signed(inventory_message(inventory=inventory, declarant=declarant), declarant)
        body = _validated(body, message=CEB621)
    except GatewayRefusal as refusal:
        logger.warning("gateway: list %s not sent: %s", inventory.pk, refusal.note)
        lifecycle.inventory_transition(
            inventory=inventory,
            to=InventoryStatus.SEND_FAILED,
            source=StatusChangeSource.SINGLE_WINDOW,
            note=refusal.note,
        )
        return None
    return outbox_enqueue(
        destination_kind=OutboxDestination.CUSTOMS,
        destination=destination,
        ordering_key=ordering_key(inventory),
        message_type=CEB621,
        payload=body,
        headers=XML_HEADERS,
    )


def inventory_dispatch(*, inventory_id: int) -> OutboxMessage | None:
    """Send a list the declare step marked, in a transaction of its own after the one that
    declared it (so signing never holds the parcel's or the quota's locks). A list another
    worker is sending is skipped; a list no longer declared is only unmarked."""
    with transaction.atomic():
        inventory = (
            Inventory.objects.select_for_update(skip_locked=True)
            .filter(pk=inventory_id, dispatch_requested_at__isnull=False)
            .first()
        )
        if inventory is None:
            return None
        Inventory.objects.filter(pk=inventory.pk).update(dispatch_requested_at=None)
        inventory.dispatch_requested_at = None
        if inventory.status != InventoryStatus.DECLARED:
            return None
        return inventory_send(inventory=inventory)


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
    Inventory.objects.filter(pk=inventory.pk, status=InventoryStatus.DECLARED).update(
        dispatch_requested_at=timezone.now() + delay
    )


def document_forward(
    *, kind: DocumentType, document: Declaration, source_message: InboundMessage | None = None
) -> OutboxMessage | None:
    """Forward an order, payment or waybill that has just been declared (CEB311/411/511), or
    deleted while customs holds a version of it (appType 3, ``app_type_for``), to customs for
    the enterprise that sent this version (``Declaration.sender``): (a) its own signed XML when
    it came alone in its message, else (b) built from the stored row and signed with its active
    key. Never with another enterprise's key: each version's sender is the one who sent it.

    A sender with neither is left alone (it may declare to customs itself): nothing is sent or
    recorded. Any other refusal (no customs partner, a message the schema refuses) is written to
    the document's ``customs_note``; the document stays declared. Runs in the transaction that
    stored the document (``services.document_submit``); returns the outbox row, or None.
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
    rows = type(document)._default_manager.filter(pk=document.pk)
    try:
        body = _forwardable(
            spec=spec, guid=document.guid, message=source_message, declarant=sender, app_type=app_type_for(document)
        )
        if body is None:
            if hub_selectors.signing_key_active(enterprise=sender) is None:
                # The sender declares this version itself: customs' answer to an earlier version
                # the gateway forwarded no longer speaks for it.
                rows.update(customs_status="", customs_note="")
                document.customs_status = document.customs_note = ""
                return None
            body = _signed(document_message(spec=spec, document=document, declarant=sender), sender)
        destination = _partner_code()
        body = _validated(body, message=spec.message)
    except GatewayRefusal as refusal:
        logger.warning("gateway: %s %s not forwarded: %s", kind, document.pk, refusal.note)
        rows.update(customs_status="", customs_note=refusal.note)
        document.customs_status, document.customs_note = "", refusal.note
        return None
    # This version's receipts start afresh (an earlier version's final answer no longer holds).
    rows.update(customs_status="", customs_note="")
    document.customs_status = document.customs_note = ""
    return outbox_enqueue(
        destination_kind=OutboxDestination.CUSTOMS,
        destination=destination,
        ordering_key=f"{kind.name}:{document.pk}",
        message_type=spec.message,
        payload=body,
        headers=XML_HEADERS,
    )


@transaction.atomic
def cancellation_send(*, cancellation: InventoryCancellation) -> OutboxMessage | None:
    """Send a recorded cancellation as a signed CEB623 and mark it sent (handed to the outbox).

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
        ordering_key=ordering_key(inventory),
        message_type=CEB623,
        payload=body,
        headers=XML_HEADERS,
    )
    InventoryCancellation.objects.filter(pk=cancellation.pk, status=InventoryCancellation.Status.RECORDED).update(
        status=InventoryCancellation.Status.SENT
    )
    cancellation.status = InventoryCancellation.Status.SENT
    return message


def on_customs_dead(message: OutboxMessage) -> None:
    """The outbox gave up on a CEB621: customs never took the list, which goes to send_failed
    (an enterprise may declare it again). Runs in the transaction that marks the message dead."""
    prefix, _, pk = message.ordering_key.partition(":")
    if message.message_type != CEB621 or prefix != "inventory" or not pk.isdigit():
        return
    inventory = Inventory.objects.filter(pk=int(pk), status=InventoryStatus.DECLARED).first()
    if inventory is not None:
        lifecycle.inventory_transition(
            inventory=inventory,
            to=InventoryStatus.SEND_FAILED,
            source=StatusChangeSource.SINGLE_WINDOW,
            note=f"customs did not take the message: {message.last_error}"[:500],
        )


def register() -> None:
    """The customs kind's one registration: the hub's generic sender posts the bytes, and a
    list customs never took goes to send_failed."""
    register_sender(OutboxDestination.CUSTOMS, deliver_customs, on_dead=on_customs_dead)
