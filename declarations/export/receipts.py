"""What customs answers about export documents: CEB304 (order), CEB404 (payment receipt), CEB506
(waybill), CEB508 (arrival), CEB510 (departure), CEB604 (export list), CEB606 (cancellation),
CEB608 (master bill). Registered with the hub's inbox; customs alone may send them.

Each return names its document by its keys (``ExportSpec.receipt_keys``). An export list's
receipt goes through its lifecycle (``lifecycle.export_list_apply_receipt``): recorded, moved as
the table of ``receipt_codes`` says, duplicates once, backwards moves recorded and ignored.
Another document keeps customs' last code and note: 100, 120 and 399 are final (a later 2 or 3,
or a negative code after them, changes nothing). Every answer that changes something is told to
the document's sender (``export.document_answered``) or, for a list, to its parties.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from lxml import etree

from core.times import parse_ceb_time
from declarations.customs import xml
from declarations.export import events, gateway, kinds, lifecycle
from declarations.models import (
    DocumentStatus,
    ExportList,
    ExportListCancellation,
    ExportListStatus,
)
from single_window.inbox import InboxRejected, register_handler
from single_window.models import InboxMessage, PartnerKind

FINAL_DOCUMENT_RECEIPTS = frozenset({"100", "120", "399"})
CANCELLATION_CONCLUDED = frozenset({"120", "399"})
CANCELLATION_REFUSED = "100"


def _text(element: etree._Element, name: str) -> str:
    return (element.findtext(f"{{{xml.CEB_NS}}}{name}") or "").strip()


def _time(value: str) -> datetime.datetime:
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
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ceb604:{message_guid}#{position}"))


# The fields that find the document a return names (model field, return element).
DOCUMENT_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "export_order": (("ebp_code", "ebpCode"), ("order_no", "orderNo")),
    "export_receipt": (("ebc_code", "ebcCode"), ("order_no", "orderNo")),
    "export_waybill": (("logistics_code", "logisticsCode"), ("logistics_no", "logisticsNo")),
    "export_arrival": (("operator_code", "operatorCode"), ("cop_no", "copNo")),
    "export_departure": (("logistics_code", "logisticsCode"), ("cop_no", "copNo")),
    "export_master_bill": (("agent_code", "agentCode"), ("cop_no", "copNo")),
}


def apply_document_receipts(kind: kinds.ExportKind) -> Any:
    """The inbox handler of one document receipt message (CEB304/404/506/508/510/608)."""
    spec, keys = kind.spec, DOCUMENT_KEYS[kind.name]

    def apply(message: InboxMessage, body: bytes) -> str:
        root = _read(body, spec.receipt_message)
        outcomes = []
        for element in root.iterchildren(f"{{{xml.CEB_NS}}}{spec.receipt_element}"):
            lookup = {field: _text(element, name) for field, name in keys}
            label = "/".join(lookup.values())
            document = (
                kinds.rows(kind)
                .select_for_update()
                .filter(**lookup)
                .exclude(status=DocumentStatus.DELETED)
                .order_by("-id")
                .first()
            )
            if document is None:
                outcomes.append(f"{label}: no such {kind.name}")
                continue
            status = _text(element, "returnStatus")
            if document.customs_status in FINAL_DOCUMENT_RECEIPTS and status not in FINAL_DOCUMENT_RECEIPTS:
                outcomes.append(f"{label}: {status} ignored, customs already answered {document.customs_status}")
                continue
            document.customs_status = status[:10]
            document.customs_note = _text(element, "returnInfo")[:1000]
            document.customs_answered_at = _time(_text(element, "returnTime"))
            document.customs_holds = document.customs_holds or gateway.holds_code(status)
            fields = ["customs_status", "customs_note", "customs_answered_at", "customs_holds", "updated_at"]
            pre_no = _text(element, "preNo")
            if pre_no and hasattr(document, "pre_no") and not document.pre_no and pre_no.strip("0"):
                document.pre_no = pre_no[:18]
                fields.append("pre_no")
            document.save(update_fields=fields)
            events.export_document_answered(kind=kind.name, document=document, return_status=status)
            outcomes.append(f"{label}: {status}")
        return "; ".join(outcomes) or f"no {spec.receipt_element}"

    return apply


def apply_list_receipts(message: InboxMessage, body: bytes) -> str:
    """Each InventoryReturn of a CEB604 to its export list (agentCode + copNo), in order."""
    root = _read(body, "CEB604Message")
    message_guid = root.get("guid", "")
    outcomes = []
    for position, element in enumerate(root.iterchildren(f"{{{xml.CEB_NS}}}InventoryReturn")):
        agent_code, cop_no = _text(element, "agentCode"), _text(element, "copNo")
        export_list = (
            ExportList.objects.filter(agent_code=agent_code, cop_no=cop_no)
            .exclude(status=ExportListStatus.DELETED)
            .order_by("-id")
            .first()
        )
        if export_list is None:
            outcomes.append(f"{agent_code}/{cop_no}: no such export list")
            continue
        code = _text(element, "returnStatus")
        pre_no = _text(element, "preNo")
        outcome = lifecycle.export_list_apply_receipt(
            export_list=export_list,
            code=code,
            info=_text(element, "returnInfo"),
            receipt_time=_time(_text(element, "returnTime")),
            message_id=_return_id(message_guid, position),
            invt_no=_text(element, "invtNo"),
            pre_no=pre_no if pre_no.strip("0") else "",
        )
        if gateway.holds_code(code):
            ExportList.objects.filter(pk=export_list.pk, customs_holds=False).update(customs_holds=True)
        state = "duplicate" if outcome.duplicate else ("applied" if outcome.applied else "not applied")
        outcomes.append(f"{agent_code}/{cop_no}: {code} {state} ({outcome.from_status} -> {outcome.to_status})")
    return "; ".join(outcomes) or "no InventoryReturn"


def apply_cancellation_receipts(message: InboxMessage, body: bytes) -> str:
    """Each InvtCancelReturn of a CEB606: 399 (or 120) the cancellation is accepted and its list
    cancelled; 100 or a negative code, refused."""
    root = _read(body, "CEB606Message")
    outcomes = []
    for element in root.iterchildren(f"{{{xml.CEB_NS}}}InvtCancelReturn"):
        agent_code, invt_no = _text(element, "agentCode"), _text(element, "invtNo")
        cancellation = (
            ExportListCancellation.objects.select_for_update()
            .select_related("export_list")
            .filter(export_list__agent_code=agent_code, export_list__invt_no=invt_no)
            .filter(status__in=[ExportListCancellation.Status.RECORDED, ExportListCancellation.Status.SENT])
            .order_by("-id")
            .first()
        )
        if cancellation is None:
            outcomes.append(f"{agent_code}/{invt_no}: no open cancellation")
            continue
        code = _text(element, "returnStatus")
        update: dict[str, Any] = {
            "customs_status": code[:10],
            "customs_note": _text(element, "returnInfo")[:1000],
            "customs_answered_at": _time(_text(element, "returnTime")),
        }
        export_list = cancellation.export_list
        if code in CANCELLATION_CONCLUDED:
            update["status"] = ExportListCancellation.Status.ACCEPTED
            if lifecycle.move_allowed(from_status=export_list.status, to_status=ExportListStatus.CANCELLED):
                lifecycle.export_list_transition(
                    export_list=export_list, to=ExportListStatus.CANCELLED, note=f"cancellation {cancellation.pk}"
                )
        elif code == CANCELLATION_REFUSED or code.startswith("-"):
            update["status"] = ExportListCancellation.Status.REJECTED
        ExportListCancellation.objects.filter(pk=cancellation.pk).update(**update)
        if "status" in update:
            events.export_list_cancellation_answered(
                export_list=export_list, cancellation_id=cancellation.pk, return_status=code
            )
        outcomes.append(f"{agent_code}/{invt_no}: {code}")
    return "; ".join(outcomes) or "no InvtCancelReturn"


def register() -> None:
    customs = (PartnerKind.CUSTOMS,)
    for kind in kinds.KINDS.values():
        if kind.is_list:
            continue
        register_handler(kind.spec.receipt_message, apply_document_receipts(kind), partner_kinds=customs)
    register_handler("CEB604Message", apply_list_receipts, partner_kinds=customs)
    register_handler("CEB606Message", apply_cancellation_receipts, partner_kinds=customs)
