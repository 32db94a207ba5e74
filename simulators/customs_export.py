"""The customs simulator's export documents (export202205.xsd, chapter 2 of the specification).

Each message is checked against the export schema and its signature (the enterprise that sends
it must have signed it), then every document in it is answered with its receipt:

- CEB303 orders -> CEB304: 2, then 120 (海关入库); signed by the platform or the seller;
- CEB403 payment receipts -> CEB404: 2, then 120; signed by the payment company;
- CEB505 waybills -> CEB506: 2, then 399 (海关审结); signed by the carrier;
- CEB507 arrivals -> CEB508: 2, then 399; signed by the site operator;
- CEB509 departures -> CEB510: 2, then 399; signed by the carrier;
- CEB603 export lists -> CEB604: 2, 120, 399, 800 (released), with a preNo and an invtNo
  (district + year + E + 9 digits); an order number ending ``-REJECT`` is returned (100);
  a list customs already has (appType 1 again while not returned) is -621004;
- CEB605 cancellations -> CEB606: 2, then 399 for a released list customs knows; else 100;
- CEB607 master/sub bills -> CEB608: 2, then 120.

A document whose sender did not sign the message is answered with the refusal only (-621029,
or the kind's "parameters" code). Nothing of the product is imported: the simulator is its own
process. ``ExportDesk`` holds what customs remembers; ``take`` returns the log entry and the
answers, as steps for the simulator's scheduler.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from simulators import ceb
from simulators.common import new_guid, new_webhook_id, now_cst, return_time

EXPORT_SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "export202205.xsd"


@dataclass(frozen=True)
class Desk:
    """One message type: its document element (and head), its receipt and return element, the
    return's fields in schema order, who must sign, and the statuses after 2."""

    element: str
    head: str
    receipt: str
    return_element: str
    return_fields: tuple[str, ...]
    signers: tuple[str, ...]
    steps: tuple[str, ...]
    refusal: str


DESKS: dict[str, Desk] = {
    "CEB303Message": Desk(
        "Order",
        "OrderHead",
        "CEB304Message",
        "OrderReturn",
        ("guid", "ebpCode", "ebcCode", "orderNo"),
        ("ebpCode", "ebcCode"),
        ("120",),
        "-301008",
    ),
    "CEB403Message": Desk(
        "Receipts",
        "",
        "CEB404Message",
        "ReceiptsReturn",
        ("guid", "ebcCode", "orderNo", "payNo"),
        ("payCode",),
        ("120",),
        "-401009",
    ),
    "CEB505Message": Desk(
        "Logistics",
        "",
        "CEB506Message",
        "LogisticsReturn",
        ("guid", "logisticsCode", "logisticsNo"),
        ("logisticsCode",),
        ("399",),
        "-504011",
    ),
    "CEB507Message": Desk(
        "Arrival",
        "ArrivalHead",
        "CEB508Message",
        "ArrivalReturn",
        ("guid", "operatorCode", "logisticsCode", "preNo", "copNo", "billNo", "msgSeqNo"),
        ("operatorCode",),
        ("399",),
        "-1",
    ),
    "CEB509Message": Desk(
        "Departure",
        "DepartureHead",
        "CEB510Message",
        "DepartureReturn",
        ("guid", "logisticsCode", "copNo", "preNo", "msgSeqNo"),
        ("logisticsCode",),
        ("399",),
        "-1",
    ),
    "CEB603Message": Desk(
        "Inventory",
        "InventoryHead",
        "CEB604Message",
        "InventoryReturn",
        ("guid", "agentCode", "copNo", "preNo", "invtNo", "ebcCode", "ebpCode", "orderNo", "statisticsFlag"),
        ("agentCode",),
        ("120", "399", "800"),
        "-621029",
    ),
    "CEB605Message": Desk(
        "InvtCancel",
        "",
        "CEB606Message",
        "InvtCancelReturn",
        ("guid", "agentCode", "copNo", "preNo", "invtNo"),
        ("agentCode",),
        ("399",),
        "-623029",
    ),
    "CEB607Message": Desk(
        "WayBill",
        "WayBillHead",
        "CEB608Message",
        "WayBillReturn",
        ("guid", "agentCode", "logisticsCode", "copNo", "preNo", "billNo", "msgSeqNo"),
        ("agentCode",),
        ("120",),
        "-1",
    ),
}
TAKEN = frozenset(DESKS)
INFO = {
    "2": "电子口岸申报中 (declaring)",
    "100": "海关退单 (returned by customs)",
    "120": "海关入库 (accepted by customs)",
    "399": "海关审结 (concluded)",
    "800": "放行 (released)",
}
REJECT_SUFFIX = "-REJECT"
# Statuses after which a list may be declared again (appType 1): returned, or a draft.
REDECLARABLE = frozenset({"1", "100"})

_schema_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


def export_schema() -> etree.XMLSchema:
    global _schema  # noqa: PLW0603 - loaded once, on first use
    with _schema_lock:
        if _schema is None:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            _schema = etree.XMLSchema(etree.parse(str(EXPORT_SCHEMA_PATH), parser))
        return _schema


def schema_errors(root: etree._Element) -> list[str]:
    validator = export_schema()
    with _schema_lock:
        valid = validator.validate(etree.ElementTree(root))
        log = list(validator.error_log)
    return [] if valid else [f"line {entry.line}: {entry.message}" for entry in log[:10]]


def read_message(body: bytes) -> ceb.Incoming | None:
    """An export document message (bare) checked against the export schema; None for any other
    message; raises ``ceb.MessageRefused`` for one that does not validate."""
    root = ceb._parse(body)
    message_type = ceb.local_name(root) if etree.QName(root).namespace == ceb.CEB_NS else ""
    if message_type not in TAKEN:
        return None
    errors = schema_errors(root)
    if errors:
        raise ceb.MessageRefused(ceb.STATUS_SCHEMA, "; ".join(errors), message_type=message_type)
    return ceb.Incoming(root=root, message_type=message_type, enveloped=False)


@dataclass(frozen=True)
class Outgoing:
    body: bytes
    webhook_id: str
    message_type: str
    summary: dict[str, Any] = field(default_factory=dict)


Step = Callable[[], Outgoing | None]


def receipt(desk: Desk, values: Mapping[str, object]) -> bytes:
    """One receipt message with one return; validated against the export schema (ValueError)."""
    root = etree.Element(ceb.ceb(desk.receipt), {"guid": new_guid(), "version": ceb.VERSION}, nsmap={"ceb": ceb.CEB_NS})
    element = etree.SubElement(root, ceb.ceb(desk.return_element))
    for name in (*desk.return_fields, "returnStatus", "returnTime", "returnInfo"):
        value = values.get(name)
        if value is not None and (value != "" or name in ("billNo", "invtNo")):
            etree.SubElement(element, ceb.ceb(name)).text = str(value)
    errors = schema_errors(root)
    if errors:
        raise ValueError(f"{desk.receipt} does not validate: {'; '.join(errors)}")
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


@dataclass
class ListRecord:
    head: dict[str, str]
    pre_no: str
    invt_no: str
    status: str = "2"


class ExportDesk:
    """What customs remembers of export lists (agentCode + copNo); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sequence = 0
        self.lists: dict[tuple[str, str], ListRecord] = {}
        self.by_invt_no: dict[str, ListRecord] = {}

    def _numbers(self, customs_code: str) -> tuple[str, str]:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        today = now_cst()
        return f"B{today:%Y%m%d}{sequence:09d}", f"{customs_code:0>4.4}{today:%Y}E{sequence:09d}"

    def take(
        self, message_type: str, root: etree._Element, signature: ceb.SignatureCheck
    ) -> tuple[dict[str, Any], list[Step]]:
        """The log entry and the answer steps for one message of ``TAKEN``."""
        desk = DESKS[message_type]
        taken: list[dict[str, str]] = []
        steps: list[Step] = []
        for element in root.iterchildren(ceb.ceb(desk.element)):
            head_element = element.find(ceb.ceb(desk.head)) if desk.head else element
            head = ceb.fields(head_element) if head_element is not None else {}
            statuses, values, info = self._plan(message_type, desk, head, signature)
            taken.append(
                {
                    "key": "/".join(str(values.get(k, "")) for k in desk.return_fields[1:3]),
                    "plan": " -> ".join(statuses),
                }
            )
            steps.extend(functools.partial(self._answer, desk, values, status, info) for status in statuses)
        return {"documents": taken}, steps

    def _plan(
        self, message_type: str, desk: Desk, head: dict[str, str], signature: ceb.SignatureCheck
    ) -> tuple[list[str], dict[str, object], str]:
        values: dict[str, object] = {name: head.get(name, "") for name in desk.return_fields}
        values["guid"] = head.get("guid") or new_guid()
        pre_no, invt_no = self._numbers(head.get("customsCode", "2901"))
        if "preNo" in values:
            values["preNo"] = head.get("preNo") or pre_no
        if "msgSeqNo" in values:
            values["msgSeqNo"] = head.get("msgSeqNo") or "1"
        if "billNo" in values:
            values["billNo"] = head.get("billNo", "")
        signed = any(head.get(name) in signature.signers for name in desk.signers) and not signature.problem
        if not signed:
            return [desk.refusal], values, f"{desk.refusal} 验签失败 (not signed by the sending enterprise)"
        if message_type == "CEB603Message":
            return self._plan_list(head, values, pre_no, invt_no)
        if message_type == "CEB605Message":
            with self._lock:
                record = self.by_invt_no.get(head.get("invtNo", ""))
                known = record is not None and record.status == "800"
                if known and record is not None:
                    record.status = "cancelled"
            values["invtNo"] = head.get("invtNo", "")
            if not known:
                return ["100"], values, "-623005 清单的状态不符合撤单申报要求 (no released list with this invtNo)"
        return ["2", *desk.steps], values, ""

    def _plan_list(
        self, head: dict[str, str], values: dict[str, object], pre_no: str, invt_no: str
    ) -> tuple[list[str], dict[str, object], str]:
        key = (head.get("agentCode", ""), head.get("copNo", ""))
        with self._lock:
            known = self.lists.get(key)
            if known is not None and head.get("appType") == "1" and known.status not in REDECLARABLE:
                values["preNo"], values["invtNo"] = known.pre_no, known.invt_no
                return ["-621004"], values, f"-621004 清单[{key[1]}]已经申报过, 请勿重复申报"
            if known is not None:
                pre_no, invt_no = known.pre_no, known.invt_no
            rejected = head.get("orderNo", "").endswith(REJECT_SUFFIX)
            record = ListRecord(head=head, pre_no=pre_no, invt_no=invt_no, status="100" if rejected else "800")
            self.lists[key] = record
            self.by_invt_no[invt_no] = record
        values["preNo"], values["invtNo"] = pre_no, invt_no
        values["statisticsFlag"] = head.get("statisticsFlag") or "A"
        if rejected:
            return ["2", "100"], values, "海关退单 (returned; the order number asks for it)"
        return ["2", *DESKS["CEB603Message"].steps], values, ""

    @staticmethod
    def _answer(desk: Desk, values: Mapping[str, object], status: str, info: str) -> Outgoing:
        answer = {
            **values,
            "returnStatus": status,
            "returnTime": return_time(),
            "returnInfo": (info if status.startswith("-") or status == "100" else "") or INFO.get(status, status),
        }
        if desk.return_element == "InventoryReturn" and status == "2":
            answer["invtNo"] = ""
        body = receipt(desk, answer)
        summary = {"returnStatus": status, **{k: str(values.get(k, "")) for k in desk.return_fields[1:3]}}
        return Outgoing(body, new_webhook_id(), desk.receipt, summary)
