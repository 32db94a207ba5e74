"""The hub's waybill contract (``single_window.waybills``), kept by the app that owns the waybills
and the customs gateway: facts about a waybill and its list, and a delivery to tell customs.

- ``waybill_facts``: the latest waybill of a number not deleted, and the live list of its parcel
  that names it (its status, customs' number, and when customs released it: the returnTime of
  the list's applied 800 receipt). Two queries.
- ``delivery_notice``: a carrier delivered a parcel. In the caller's transaction, a
  ``WaybillDeliveryNotice`` is stored (one per waybill; a second delivery of it changes
  nothing) and a CEB513 (``LogisticsStatus``, ``logisticsStatus`` S) is built, signed for the
  logistics enterprise with its active key, checked against the schema and put in the outbox to
  customs, after the waybill's own CEB511 if that is still unsent. Without a key (or a customs
  partner) nothing leaves: the notice is ``send_failed`` with a note saying why. The list is not
  touched: it stays ``released`` (only customs' 899 closes a list).
- What became of the CEB513 (``gateway.register_message_outcomes``): handed to customs →
  ``sent``; dead or refused as a whole → ``send_failed``.
- Customs' answer (CEB514, from a partner of kind customs only), found by logisticsCode +
  logisticsNo: 120 → ``answered``, 100 or a negative code → ``refused``; 2, 3, 4 are noted
  only, and an answered or refused notice changes no more. Each answer that moves the notice
  tells the logistics enterprise (``waybill.delivery_answered``).
"""

from __future__ import annotations

import datetime
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from lxml import etree

from core.times import ceb_time, parse_ceb_time
from declarations import events
from declarations.customs import gateway, xml
from declarations.models import (
    DocumentStatus,
    Inventory,
    InventoryStatus,
    InventoryStatusChange,
    Waybill,
    WaybillDeliveryNotice,
)
from declarations.models.delivery import OPEN_STATES
from single_window import selectors as hub_selectors
from single_window.inbox import InboxRejected, register_handler
from single_window.models import Enterprise, InboxMessage, OutboxMessage, PartnerKind
from single_window.waybills import Delivery, WaybillFacts, register_delivery_notice, register_waybill_lookup

logger = logging.getLogger(__name__)

CEB513 = "CEB513Message"
CEB514 = "CEB514Message"
# logisticsStatus: the spec allows only S (签收, signed for).
SIGNED_FOR = "S"
DELIVERY_ANSWERED = "120"
DELIVERY_REFUSED = "100"
NOTE_NO_LOGISTICS = "not sent: the logistics enterprise {code} is not registered with the single window"


# --- The lookup ---------------------------------------------------------------------------------


def _released_at() -> Coalesce:
    """When the list (``OuterRef("pk")``) was released: its latest applied 800's returnTime, or
    when that was recorded (as ``quotas.inventory_released_at``)."""
    released = InventoryStatusChange.objects.filter(
        inventory=OuterRef("pk"), to_status=InventoryStatus.RELEASED, applied=True
    ).order_by("-created_at", "-id")
    return Coalesce(
        Subquery(released.values("receipt_time")[:1]),
        Subquery(released.values("created_at")[:1]),
    )


def waybill_facts(logistics_code: str, logistics_no: str) -> WaybillFacts | None:
    """The waybill (its latest generation not deleted) and the live list of its parcel that
    names it, the one of the waybill's order first; None when the single window holds no such
    waybill. Two queries."""
    waybill = (
        Waybill.objects.filter(logistics_code=logistics_code, logistics_no=logistics_no)
        .exclude(status=DocumentStatus.DELETED)
        .order_by("-generation", "-id")
        .first()
    )
    if waybill is None:
        return None
    inventory = (
        Inventory.objects.filter(logistics_code=logistics_code, logistics_no=logistics_no)
        .exclude(status=InventoryStatus.DELETED)
        .filter(order_no=waybill.order_no)
        .annotate(released_at=_released_at())
        .order_by("-id")
        .first()
    )
    released_at: datetime.datetime | None = getattr(inventory, "released_at", None) if inventory else None
    return WaybillFacts(
        logistics_code=waybill.logistics_code,
        logistics_no=waybill.logistics_no,
        ebp_code=inventory.ebp_code if inventory else "",
        order_no=waybill.order_no,
        inventory_id=inventory.pk if inventory else None,
        invt_no=inventory.invt_no if inventory else "",
        list_status=inventory.status if inventory else "",
        released_at=released_at,
        ebc_code=inventory.ebc_code if inventory else "",
        agent_code=inventory.agent_code if inventory else "",
        customs_code=inventory.customs_code if inventory else "",
        port_code=inventory.port_code if inventory else "",
        trade_mode=inventory.trade_mode if inventory else "",
    )


# --- CEB513 out -----------------------------------------------------------------------------------


def _new_guid() -> str:
    return str(uuid.uuid4()).upper()


def status_message(*, notice: WaybillDeliveryNotice, logistics_name: str, declarant: Enterprise) -> etree._Element:
    """The unsigned CEB513 of a notice: one LogisticsStatus, then BaseTransfer."""
    root = gateway.message_root(CEB513)
    element = etree.SubElement(root, gateway.ceb_name("LogisticsStatus"))
    values = (
        ("guid", notice.guid),
        ("appType", "1"),
        ("appTime", ceb_time(notice.created_at)),
        ("appStatus", "2"),
        ("logisticsCode", notice.logistics_code),
        ("logisticsName", logistics_name[:100]),
        ("logisticsNo", notice.logistics_no),
        ("logisticsStatus", SIGNED_FOR),
        ("logisticsTime", ceb_time(notice.delivered_at)),
        ("note", notice.note[:1000]),
    )
    for name, value in values:
        if value or name != "note":
            etree.SubElement(element, gateway.ceb_name(name)).text = value
    gateway.base_transfer(root, declarant)
    return root


def _failed(notice: WaybillDeliveryNotice, note: str) -> None:
    logger.warning("delivery notice %s not sent: %s", notice.pk, note)
    notice.status, notice.send_note = WaybillDeliveryNotice.Status.SEND_FAILED, note[:500]
    notice.save(update_fields=["status", "send_note", "updated_at"])


def delivery_notice(delivery: Delivery) -> None:
    """The hub's delivery notice callback: store the notice and enqueue its CEB513, in the
    caller's transaction (a savepoint of it). A waybill the single window does not hold, or one
    already noticed, changes nothing."""
    with transaction.atomic():
        waybill = (
            Waybill.objects.filter(logistics_code=delivery.logistics_code, logistics_no=delivery.logistics_no)
            .exclude(status=DocumentStatus.DELETED)
            .order_by("-generation", "-id")
            .first()
        )
        if waybill is None:
            logger.info("delivery of %s/%s: no such waybill", delivery.logistics_code, delivery.logistics_no)
            return
        notice, created = WaybillDeliveryNotice.objects.get_or_create(
            waybill=waybill,
            defaults={
                "logistics_code": waybill.logistics_code,
                "logistics_no": waybill.logistics_no,
                "delivered_at": delivery.delivered_at,
                "place": delivery.place[:200],
                "note": delivery.note[:1000],
                "guid": _new_guid(),
            },
        )
        if not created:
            return
        notice_send(notice=notice, waybill=waybill)


def notice_send(*, notice: WaybillDeliveryNotice, waybill: Waybill) -> OutboxMessage | None:
    """Build, sign for the logistics enterprise, check and enqueue the notice's CEB513; or mark
    it ``send_failed`` with the reason. Runs in the caller's transaction."""
    if not settings.CUSTOMS_GATEWAY_ENABLED:
        return None
    declarant = hub_selectors.enterprise_get_by_code(code=notice.logistics_code)
    if declarant is None:
        _failed(notice, NOTE_NO_LOGISTICS.format(code=notice.logistics_code))
        return None
    try:
        message = gateway.enqueue_signed(
            root=status_message(notice=notice, logistics_name=waybill.logistics_name, declarant=declarant),
            declarant=declarant,
            message_type=CEB513,
            ordering_key=gateway.key_after_previous_waybill(waybill),
        )
    except gateway.GatewayRefusal as refusal:
        _failed(notice, refusal.note)
        return None
    notice.message = message
    notice.save(update_fields=["message", "updated_at"])
    return message


def _on_sent(message: OutboxMessage) -> None:
    WaybillDeliveryNotice.objects.filter(message=message, status=WaybillDeliveryNotice.Status.RECORDED).update(
        status=WaybillDeliveryNotice.Status.SENT, sent_at=timezone.now(), updated_at=timezone.now()
    )


def _on_failed(message: OutboxMessage) -> None:
    note = gateway.NOTE_DEAD.format(error=message.last_error)[:500]
    WaybillDeliveryNotice.objects.filter(
        message=message, status__in=[WaybillDeliveryNotice.Status.RECORDED, WaybillDeliveryNotice.Status.SENT]
    ).update(status=WaybillDeliveryNotice.Status.SEND_FAILED, send_note=note, updated_at=timezone.now())


# --- CEB514 in ------------------------------------------------------------------------------------


def _text(element: etree._Element, name: str) -> str:
    return (element.findtext(gateway.ceb_name(name)) or "").strip()


def return_time(value: str) -> datetime.datetime:
    """returnTime is YYYYMMDDhhmmss with optional milliseconds, China Standard Time."""
    try:
        moment = parse_ceb_time(value[:14])
    except ValueError as exc:
        raise InboxRejected(f"returnTime {value!r} is not YYYYMMDDhhmmss[SSS]") from exc
    millis = value[14:17]
    return moment + datetime.timedelta(milliseconds=int(millis)) if millis.isdigit() else moment


def read(body: bytes, message: str) -> etree._Element:
    try:
        return xml.read_message(body, expected_message=message)
    except xml.MessageRejected as exc:
        raise InboxRejected(f"{message} refused: {exc.detail}") from exc


def apply_delivery_receipts(message: InboxMessage, body: bytes) -> str:
    """Customs' answers to delivery notices (CEB514): 120 answered, 100 or negative refused;
    anything else, or anything after a final answer, is noted and changes nothing."""
    root = read(body, CEB514)
    outcomes = []
    for element in root.iterchildren(gateway.ceb_name("LogisticsStatusReturn")):
        code, number = _text(element, "logisticsCode"), _text(element, "logisticsNo")
        status, info = _text(element, "returnStatus"), _text(element, "returnInfo")
        label = f"{code}/{number}"
        notice = (
            WaybillDeliveryNotice.objects.select_for_update()
            .filter(logistics_code=code, logistics_no=number)
            .order_by("-id")
            .first()
        )
        if notice is None:
            outcomes.append(f"{label}: no delivery notice")
            continue
        if notice.status not in OPEN_STATES:
            outcomes.append(f"{label}: {status} ignored, notice {notice.pk} is {notice.status}")
            continue
        if status == DELIVERY_ANSWERED:
            notice.status = WaybillDeliveryNotice.Status.ANSWERED
        elif status == DELIVERY_REFUSED or status.startswith("-"):
            notice.status = WaybillDeliveryNotice.Status.REFUSED
        else:
            outcomes.append(f"{label}: {status} noted")
            continue
        notice.return_status, notice.return_info = status[:10], info[:1000]
        notice.answered_at = return_time(_text(element, "returnTime"))
        notice.save(update_fields=["status", "return_status", "return_info", "answered_at", "updated_at"])
        events.waybill_delivery_answered(notice=notice)
        outcomes.append(f"{label}: notice {notice.pk} {notice.status}")
    return "; ".join(outcomes) or "no LogisticsStatusReturn"


def register() -> None:
    """Called once, from ``DeclarationsConfig.ready``: the hub's waybill contract, the CEB513's
    outcomes with the customs sender, and customs' CEB514 with the inbox."""
    register_waybill_lookup(waybill_facts)
    register_delivery_notice(delivery_notice)
    gateway.register_message_outcomes(CEB513, gateway.MessageOutcomes(on_sent=_on_sent, on_failed=_on_failed))
    register_handler(CEB514, apply_delivery_receipts, partner_kinds=(PartnerKind.CUSTOMS,))
