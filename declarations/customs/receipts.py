"""What customs sends back about lists and documents: list receipts (CEB622), cancellation answers
(CEB624), return answers (CEB626) and the answers to forwarded orders, payments and waybills
(CEB312/412/512).

Registered with the hub's inbox (``single_window.inbox``) at start-up. Each receipt goes
through the list's lifecycle (``inventory_apply_receipt``), which records it, ignores
duplicates and refuses backwards moves. Tax bills (CEB816, CEB818) are finance's.

A message the gateway sent may carry up to 100 documents; customs answers each document with
its own return (it names the document by its keys), so each is matched and applied on its own,
whatever message carried it. A return refusing the whole message a list went in with others
(-621029, -621030) has the gateway send that list again alone (``gateway.went_with_others``).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db.models import Q
from lxml import etree

from core.times import parse_ceb_time
from declarations import events, kinds
from declarations.clearance import lifecycle
from declarations.customs import gateway, receipt_codes, xml
from declarations.models import (
    DocumentStatus,
    Inventory,
    InventoryCancellation,
    InventoryReturn,
    InventoryStatus,
    Order,
    Payment,
    StatusChangeSource,
    Waybill,
)
from declarations.tax import quotas
from single_window.inbox import Handler, InboxRejected, register_handler
from single_window.models import InboxMessage, PartnerKind

# CEB624: customs concluded the cancellation (撤单审结), or returned the request (退单: refused).
CANCELLATION_CONCLUDED = "399"
CANCELLATION_REFUSED = "100"
# CEB626: customs entered the return (入库), concluded it (审结), or returned it (退单: refused).
RETURN_ENTERED = "120"
RETURN_CONCLUDED = "399"
RETURN_REFUSED = "100"
RETURN_OPEN = (InventoryReturn.Status.RECORDED, InventoryReturn.Status.SENT, InventoryReturn.Status.ENTERED)


def _text(element: etree._Element, name: str) -> str:
    return (element.findtext(f"{{{xml.CEB_NS}}}{name}") or "").strip()


def _time(value: str) -> datetime.datetime:
    """returnTime is YYYYMMDDhhmmss with optional milliseconds, China Standard Time."""
    try:
        moment = parse_ceb_time(value[:14])
    except ValueError as exc:
        raise InboxRejected(f"returnTime {value!r} is not YYYYMMDDhhmmss[SSS]") from exc
    millis = value[14:17]
    return moment + datetime.timedelta(milliseconds=int(millis)) if millis.isdigit() else moment


def _read(body: bytes, message: str) -> etree._Element:
    try:
        return xml.read_message(body, expected_message=message)
    except xml.MessageRejected as exc:
        raise InboxRejected(f"{message} refused: {exc.detail}") from exc


def _return_id(message_guid: str, position: int) -> str:
    """One history id per return of a message: a message may carry up to 100 returns, for one
    list or several; a message delivered again gives each return the same id (recorded once)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ceb622:{message_guid}#{position}"))


def _lists_named(returns: list[tuple[datetime.datetime, int, etree._Element]]) -> dict[tuple[str, str], Inventory]:
    """The live lists the returns name (by agentCode + copNo), in one query. Each is one
    instance for all its returns: the lifecycle keeps it in step with its row."""
    keys = {(_text(element, "agentCode"), _text(element, "copNo")) for _time, _position, element in returns}
    if not keys:
        return {}
    which = reduce(or_, (Q(agent_code=agent_code, cop_no=cop_no) for agent_code, cop_no in keys))
    found: dict[tuple[str, str], Inventory] = {}
    for inventory in Inventory.objects.filter(which).exclude(status="deleted").order_by("-pk"):
        found[(inventory.agent_code, inventory.cop_no)] = inventory  # the first stored wins
    return found


def apply_inventory_receipts(message: InboxMessage, body: bytes) -> str:
    """Apply each InventoryReturn of a CEB622 to its list (found by agentCode + copNo), in
    returnTime order, so that a message holding a list's 2, 120 and 800 moves it as they came."""
    root = _read(body, "CEB622Message")
    message_guid = root.get("guid") or message.message_id
    returns = [
        (_time(_text(element, "returnTime")), position, element)
        for position, element in enumerate(root.iterchildren(f"{{{xml.CEB_NS}}}InventoryReturn"))
    ]
    outcomes = []
    lists = _lists_named(returns)
    for receipt_time, position, element in sorted(returns, key=lambda found: (found[0], found[1])):
        agent_code, cop_no = _text(element, "agentCode"), _text(element, "copNo")
        inventory = lists.get((agent_code, cop_no))
        if inventory is None:
            outcomes.append(f"{agent_code}/{cop_no}: no such list")
            continue
        invt_no = _text(element, "invtNo")
        if invt_no and inventory.invt_no != invt_no:
            Inventory.objects.filter(pk=inventory.pk).update(invt_no=invt_no)
            inventory.invt_no = invt_no
        code = _text(element, "returnStatus")
        # Customs refused the whole message the list went in, with other lists: the list goes
        # again alone, and the refusal does not move it. Alone, the refusal is the list's own.
        split = (
            gateway.went_with_others(kind=kinds.INVENTORY, document=inventory)
            if receipt_codes.refuses_message(code)
            else None
        )
        try:
            outcome = lifecycle.inventory_apply_receipt(
                inventory=inventory,
                receipt_code=code,
                receipt_time=receipt_time,
                message_id=_return_id(message_guid, position),
                note=_text(element, "returnInfo")[:500],
                moves=split is None,
            )
        except lifecycle.UnknownReceiptCode:
            # Raised, it would fail the task on every sweep; noted, the list's other returns still apply.
            outcomes.append(f"{agent_code}/{cop_no}: unknown returnStatus {code!r}")
            continue
        duplicate = outcome.result is lifecycle.ReceiptResult.DUPLICATE
        if split is not None and not duplicate and gateway.document_send_alone(kind=kinds.INVENTORY, row=split):
            outcomes.append(f"{agent_code}/{cop_no}: {outcome.result}, sent again alone")
            continue
        if receipt_codes.effect(code) is receipt_codes.Effect.RETRY and not duplicate:
            # Customs asks for the list again: the gateway resends it, or gives up after a few tries.
            gateway.inventory_resend_later(inventory=inventory)
        outcomes.append(f"{agent_code}/{cop_no}: {outcome.result}")
    return "; ".join(outcomes) or "no InventoryReturn"


def apply_cancellation_receipts(message: InboxMessage, body: bytes) -> str:
    """Customs' answers to cancellations (CEB624): 399 cancels the list; 100 (customs returned
    the request) or a negative code refuses it, which closes the request (a new one may be
    made) and leaves the list released. Either way the enterprises concerned are told.

    120 (stored) only says customs has the request; it changes nothing.
    """
    root = _read(body, "CEB624Message")
    outcomes = []
    for element in root.iterchildren(f"{{{xml.CEB_NS}}}InvtCancelReturn"):
        agent_code, cop_no, status = (
            _text(element, "agentCode"),
            _text(element, "copNo"),
            _text(element, "returnStatus"),
        )
        cancellation = (
            InventoryCancellation.objects.select_for_update()
            .select_related("inventory")
            .filter(
                inventory__agent_code=agent_code,
                inventory__cop_no=cop_no,
                status__in=[InventoryCancellation.Status.RECORDED, InventoryCancellation.Status.SENT],
            )
            .first()
        )
        if cancellation is None:
            outcomes.append(f"{agent_code}/{cop_no}: no open cancellation")
            continue
        if status == CANCELLATION_CONCLUDED:
            lifecycle.inventory_transition(
                inventory=cancellation.inventory,
                to=InventoryStatus.CANCELLED,
                source=StatusChangeSource.SINGLE_WINDOW,
                note=f"CEB624 {status}: {_text(element, 'returnInfo')}"[:500],
            )
            cancellation.status = InventoryCancellation.Status.ACCEPTED
        elif status == CANCELLATION_REFUSED or status.startswith("-"):
            cancellation.status = InventoryCancellation.Status.REJECTED
        else:
            outcomes.append(f"{agent_code}/{cop_no}: {status} noted")
            continue
        cancellation.save(update_fields=["status", "updated_at"])
        events.inventory_cancellation_answered(
            inventory=cancellation.inventory,
            cancellation_id=cancellation.pk,
            status=cancellation.status,
            return_status=status,
            return_info=_text(element, "returnInfo")[:200],
        )
        outcomes.append(f"{agent_code}/{cop_no}: cancellation {cancellation.status}")
    return "; ".join(outcomes) or "no InvtCancelReturn"


def _return_of(element: etree._Element) -> InventoryReturn | None:
    """The return request a CEB626 answers: by the InvtRefundHead guid it echoes, else the
    oldest open return of the list it names (agentCode + copNo, or invtNo)."""
    found = (
        InventoryReturn.objects.select_for_update()
        .select_related("inventory")
        .filter(guid=_text(element, "guid").upper())
        .first()
    )
    if found is not None:
        return found
    agent_code, cop_no, invt_no = _text(element, "agentCode"), _text(element, "copNo"), _text(element, "invtNo")
    open_returns = (
        InventoryReturn.objects.select_for_update().select_related("inventory").filter(status__in=RETURN_OPEN)
    )
    if agent_code and cop_no:
        open_returns = open_returns.filter(inventory__agent_code=agent_code, inventory__cop_no=cop_no)
    elif invt_no:
        open_returns = open_returns.filter(inventory__invt_no=invt_no)
    else:
        return None
    return open_returns.order_by("created_at", "id").first()


def apply_return_receipts(message: InboxMessage, body: bytes) -> str:
    """Customs' answers to return requests (CEB626): 120 entered; 399 concluded, and the value
    returned goes back to the buyer's annual quota (once: ``quotas.quota_give_back_returned``);
    100 or a negative code refused. The list's lifecycle never moves (it stays released); the
    tax bill is customs' to void or issue again (CEB818, CEB816). The enterprises concerned are
    told of each answer that moves the return.

    1, 2, 3 and 4 only say where the message is; a late 120, or anything after a final answer,
    is noted and changes nothing.
    """
    root = _read(body, "CEB626Message")
    outcomes = []
    for element in root.iterchildren(f"{{{xml.CEB_NS}}}InvtRefundReturn"):
        status, info = _text(element, "returnStatus"), _text(element, "returnInfo")
        label = f"{_text(element, 'agentCode')}/{_text(element, 'copNo')}"
        inventory_return = _return_of(element)
        if inventory_return is None:
            outcomes.append(f"{label}: no such return")
            continue
        current = inventory_return.status
        if status == RETURN_CONCLUDED and current == InventoryReturn.Status.CONCLUDED:
            # A repeated 399: the quota's give-back is idempotent and gives nothing more.
            given = quotas.quota_give_back_returned(inventory_return=inventory_return)
            outcomes.append(f"{label}: return {inventory_return.pk} already concluded (gave back {given})")
            continue
        if current not in RETURN_OPEN:
            outcomes.append(f"{label}: {status} ignored, return {inventory_return.pk} is {current}")
            continue
        if status == RETURN_CONCLUDED:
            inventory_return.status = InventoryReturn.Status.CONCLUDED
            inventory_return.concluded_at = _time(_text(element, "returnTime"))
        elif status == RETURN_REFUSED or status.startswith("-"):
            inventory_return.status = InventoryReturn.Status.REFUSED
        elif status == RETURN_ENTERED and current != InventoryReturn.Status.ENTERED:
            inventory_return.status = InventoryReturn.Status.ENTERED
        else:
            outcomes.append(f"{label}: {status} noted")
            continue
        inventory_return.return_status, inventory_return.return_info = status[:10], info[:1000]
        inventory_return.answered_at = _time(_text(element, "returnTime"))
        inventory_return.save(
            update_fields=["status", "return_status", "return_info", "answered_at", "concluded_at", "updated_at"]
        )
        given = Decimal(0)
        if inventory_return.status == InventoryReturn.Status.CONCLUDED:
            given = quotas.quota_give_back_returned(inventory_return=inventory_return)
        events.inventory_return_answered(inventory_return=inventory_return, return_status=status)
        outcomes.append(f"{label}: return {inventory_return.pk} {inventory_return.status} (gave back {given})")
    return "; ".join(outcomes) or "no InvtRefundReturn"


# CEB312/412/512: customs' answer to an order, payment or waybill the gateway forwarded. 100
# (returned) and 120 (stored) are final; 2, 3, 4 (in progress) and negative codes give way to
# any later receipt, so a late or repeated receipt never undoes a final answer.
FINAL_DOCUMENT_RECEIPTS = frozenset({"100", "120"})
# Receipts that say customs has the document: its next version is a change (appType 2).
HOLDING_DOCUMENT_RECEIPTS = frozenset({"2", "3", "100", "120"})
# The return element of each answer, and the two keys that find its document (model field, XML element).
DOCUMENT_RETURNS: dict[str, tuple[str, type[Order | Payment | Waybill], tuple[tuple[str, str], ...]]] = {
    "CEB312Message": ("OrderReturn", Order, (("ebp_code", "ebpCode"), ("order_no", "orderNo"))),
    "CEB412Message": (
        "PaymentReturn",
        Payment,
        (("pay_code", "payCode"), ("pay_transaction_id", "payTransactionId")),
    ),
    "CEB512Message": (
        "LogisticsReturn",
        Waybill,
        (("logistics_code", "logisticsCode"), ("logistics_no", "logisticsNo")),
    ),
}


def apply_document_receipts(message_type: str) -> Handler:
    """The inbox handler of a CEB312, CEB412 or CEB512: record customs' answer on each order,
    payment or waybill it names (found by its business key; the live row, the latest waybill)."""
    element_name, model, keys = DOCUMENT_RETURNS[message_type]

    def apply(message: InboxMessage, body: bytes) -> str:
        root = _read(body, message_type)
        outcomes = []
        for element in root.iterchildren(f"{{{xml.CEB_NS}}}{element_name}"):
            lookup = {field: _text(element, name) for field, name in keys}
            label = "/".join(lookup.values())
            document = (
                model._default_manager.select_for_update()
                .filter(**lookup)
                .exclude(status=DocumentStatus.DELETED)
                .order_by("-id")
                .first()
            )
            if document is None:
                outcomes.append(f"{label}: no such {model._meta.model_name}")
                continue
            status = _text(element, "returnStatus")
            if document.customs_status in FINAL_DOCUMENT_RECEIPTS:
                outcomes.append(f"{label}: {status} ignored, customs already answered {document.customs_status}")
                continue
            document.customs_status = status[:10]
            document.customs_note = _text(element, "returnInfo")[:500]
            document.customs_holds = document.customs_holds or status in HOLDING_DOCUMENT_RECEIPTS
            document.save(update_fields=["customs_status", "customs_note", "customs_holds", "updated_at"])
            outcomes.append(f"{label}: {status}")
        return "; ".join(outcomes) or f"no {element_name}"

    return apply


def register() -> None:
    # Receipts come from customs alone: a payment company's secret releases nothing.
    customs = (PartnerKind.CUSTOMS,)
    for message_type in DOCUMENT_RETURNS:
        register_handler(message_type, apply_document_receipts(message_type), partner_kinds=customs)
    register_handler("CEB622Message", apply_inventory_receipts, partner_kinds=customs)
    register_handler("CEB624Message", apply_cancellation_receipts, partner_kinds=customs)
    register_handler("CEB626Message", apply_return_receipts, partner_kinds=customs)
