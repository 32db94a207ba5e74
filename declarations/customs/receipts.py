"""What customs sends back: list receipts (CEB622), tax bills (CEB816), cancellation answers
(CEB624) and the answers to forwarded orders, payments and waybills (CEB312/412/512).

Registered with the hub's inbox (``single_window.inbox``) at start-up. Each receipt goes
through the list's lifecycle (``inventory_apply_receipt``), which records it, ignores
duplicates and refuses backwards moves; each tax bill is reconciled against the estimate.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from declarations import events
from declarations.clearance import lifecycle
from declarations.customs import xml
from declarations.intake.serializers import CST
from declarations.models import (
    DocumentStatus,
    Inventory,
    InventoryCancellation,
    InventoryStatus,
    Order,
    Payment,
    StatusChangeSource,
    TaxBill,
    TaxEstimate,
    Waybill,
)
from single_window.inbox import Handler, InboxRejected, register_handler
from single_window.models import InboxMessage

# CEB624: customs concluded the cancellation (撤单审结).
CANCELLATION_CONCLUDED = "399"


def _text(element: etree._Element, name: str) -> str:
    return (element.findtext(f"{{{xml.CEB_NS}}}{name}") or "").strip()


def _time(value: str) -> datetime.datetime:
    """returnTime is YYYYMMDDhhmmss with optional milliseconds, China Standard Time."""
    try:
        moment = datetime.datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=CST)
    except ValueError as exc:
        raise InboxRejected(f"returnTime {value!r} is not YYYYMMDDhhmmss[SSS]") from exc
    millis = value[14:17]
    return moment + datetime.timedelta(milliseconds=int(millis)) if millis.isdigit() else moment


def _read(body: bytes, message: str) -> etree._Element:
    try:
        return xml.read_message(body, expected_message=message)
    except xml.MessageRejected as exc:
        raise InboxRejected(f"{message} refused: {exc.detail}") from exc


def apply_inventory_receipts(message: InboxMessage, body: bytes) -> str:
    """Apply each InventoryReturn of a CEB622 to its list (found by agentCode + copNo)."""
    root = _read(body, "CEB622Message")
    # The history keeps the receipt message's guid (36 characters), recorded once per list.
    message_guid = (root.get("guid") or message.message_id)[:36]
    outcomes = []
    for element in root.iterchildren(f"{{{xml.CEB_NS}}}InventoryReturn"):
        agent_code, cop_no = _text(element, "agentCode"), _text(element, "copNo")
        inventory = Inventory.objects.filter(agent_code=agent_code, cop_no=cop_no).exclude(status="deleted").first()
        if inventory is None:
            outcomes.append(f"{agent_code}/{cop_no}: no such list")
            continue
        invt_no = _text(element, "invtNo")
        if invt_no and inventory.invt_no != invt_no:
            Inventory.objects.filter(pk=inventory.pk).update(invt_no=invt_no)
        try:
            outcome = lifecycle.inventory_apply_receipt(
                inventory=inventory,
                receipt_code=_text(element, "returnStatus"),
                receipt_time=_time(_text(element, "returnTime")),
                message_id=message_guid,
                note=_text(element, "returnInfo")[:500],
            )
        except lifecycle.UnknownReceiptCode:
            # Raised, it would fail the task on every sweep; noted, the list's other returns still apply.
            outcomes.append(f"{agent_code}/{cop_no}: unknown returnStatus {_text(element, 'returnStatus')!r}")
            continue
        outcomes.append(f"{agent_code}/{cop_no}: {outcome.result}")
    return "; ".join(outcomes) or "no InventoryReturn"


def _amount(element: etree._Element, name: str) -> Decimal:
    try:
        return Decimal(_text(element, name) or "0")
    except InvalidOperation as exc:
        raise InboxRejected(f"{name} is not a number") from exc


def apply_tax_bills(message: InboxMessage, body: bytes) -> str:
    """Store each CEB816 bill and flag where it differs from the single window's estimate."""
    root = _read(body, "CEB816Message")
    outcomes = []
    for tax in root.iterchildren(f"{{{xml.CEB_NS}}}Tax"):
        head = tax.find(f"{{{xml.CEB_NS}}}TaxHeadRd")
        if head is None:
            continue
        invt_no, tax_no = _text(head, "invtNo"), _text(head, "taxNo")
        inventory = Inventory.objects.filter(invt_no=invt_no).first()
        if inventory is None:
            outcomes.append(f"{tax_no}: no list with invtNo {invt_no}")
            continue
        bill = {
            "customs_tax": _amount(head, "customsTax"),
            "value_added_tax": _amount(head, "valueAddedTax"),
            "consumption_tax": _amount(head, "consumptionTax"),
        }
        estimate = TaxEstimate.objects.filter(inventory=inventory).first()
        differences = {
            name: [str(getattr(estimate, name)) if estimate else None, str(value)]
            for name, value in bill.items()
            if estimate is None or getattr(estimate, name) != value
        }
        TaxBill.objects.update_or_create(
            tax_no=tax_no,
            defaults={
                "inventory": inventory,
                "invt_no": invt_no,
                "status": _text(head, "status")[:4],
                "return_time": _time(_text(head, "returnTime")),
                "differences": differences,
                **bill,
            },
        )
        events.inventory_tax_bill(
            inventory=inventory,
            tax_no=tax_no,
            totals={name: str(value) for name, value in bill.items()},
            differences=differences,
        )
        outcomes.append(f"{tax_no}: {'differs from the estimate' if differences else 'matches the estimate'}")
    return "; ".join(outcomes) or "no Tax"


def apply_cancellation_receipts(message: InboxMessage, body: bytes) -> str:
    """Customs' answers to cancellations (CEB624): 399 cancels the list, a negative code refuses.

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
        elif status.startswith("-"):
            cancellation.status = InventoryCancellation.Status.REJECTED
        else:
            outcomes.append(f"{agent_code}/{cop_no}: {status} noted")
            continue
        cancellation.save(update_fields=["status", "updated_at"])
        outcomes.append(f"{agent_code}/{cop_no}: cancellation {cancellation.status}")
    return "; ".join(outcomes) or "no InvtCancelReturn"


# CEB312/412/512: customs' answer to an order, payment or waybill the gateway forwarded. 100
# (returned) and 120 (stored) are final; 2, 3, 4 (in progress) and negative codes give way to
# any later receipt, so a late or repeated receipt never undoes a final answer.
FINAL_DOCUMENT_RECEIPTS = frozenset({"100", "120"})
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
            document.save(update_fields=["customs_status", "customs_note", "updated_at"])
            outcomes.append(f"{label}: {status}")
        return "; ".join(outcomes) or f"no {element_name}"

    return apply


def register() -> None:
    for message_type in DOCUMENT_RETURNS:
        register_handler(message_type, apply_document_receipts(message_type))
    register_handler("CEB622Message", apply_inventory_receipts)
    register_handler("CEB624Message", apply_cancellation_receipts)
    register_handler("CEB816Message", apply_tax_bills)
