"""Export returns in customs XML, the pure part: the return request (CEB213, ``InvtRefund``) and
the site operator's tally (CEB215, ``InvtRefundDetail``) written from plain values, a CEB213 an
enterprise sends read into the same values, and customs' answers (CEB214 ``RefundReturn``,
CEB216 ``InvtRefundDetailReturn``) read. Elements are written in the export schema's order
(tables 2-59 and 2-66).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lxml import etree

from core.times import ceb_time
from declarations.customs import xml
from declarations.export.summaries_xml import q, sub, text

CEB213 = "CEB213Message"
CEB214 = "CEB214Message"
CEB215 = "CEB215Message"
CEB216 = "CEB216Message"

# InvtRefundHead: (element, value key, required).
REFUND_HEAD: tuple[tuple[str, str, bool], ...] = (
    ("guid", "guid", True),
    ("appType", "app_type", True),
    ("appTime", "app_time", True),
    ("appStatus", "app_status", True),
    ("customsCode", "customs_code", True),
    ("loctNo", "loct_no", False),
    ("ebpCode", "ebp_code", True),
    ("ebpName", "ebp_name", True),
    ("ebcCode", "ebc_code", True),
    ("ebcName", "ebc_name", True),
    ("logisticsNo", "logistics_no", True),
    ("logisticsCode", "logistics_code", True),
    ("logisticsName", "logistics_name", True),
    ("coElNo", "cop_no", True),
    ("preNo", "pre_no", False),
    ("invtNo", "invt_no", True),
    ("tradeMode", "trade_mode", False),
    ("agentCode", "agent_code", True),
    ("agentName", "agent_name", True),
    ("billNo", "bill_no", True),
    ("ieFlag", "ie_flag", True),
    ("trafMode", "traf_mode", True),
    ("trafName", "traf_name", True),
    ("portCode", "port_code", True),
    ("reason", "reason", True),
    ("country", "country", True),
    ("voyageNo", "voyage_no", True),
    ("note", "note", False),
)
REFUND_LINE: tuple[tuple[str, str, bool], ...] = (
    ("gnum", "gnum", True),
    ("gcode", "gcode", True),
    ("gname", "gname", True),
    ("gmodel", "gmodel", True),
    ("qty", "qty", True),
    ("qty1", "qty1", True),
    ("unit", "unit", True),
    ("unit1", "unit1", True),
    ("qty2", "qty2", False),
    ("unit2", "unit2", False),
    ("note", "note", False),
)
TALLY: tuple[tuple[str, str, bool], ...] = (
    ("guid", "guid", True),
    ("appType", "app_type", True),
    ("appTime", "app_time", True),
    ("appStatus", "app_status", True),
    ("customsCode", "customs_code", True),
    ("operatorCode", "operator_code", True),
    ("operatorName", "operator_name", True),
    ("logisticsCode", "logistics_code", True),
    ("logisticsName", "logistics_name", True),
    ("logisticsNo", "logistics_no", True),
    ("invtNo", "invt_no", False),
    ("coElNo", "cop_no", True),
    ("preNo", "pre_no", False),
    ("billNo", "bill_no", True),
    ("ieFlag", "ie_flag", True),
    ("trafMode", "traf_mode", True),
    ("trafName", "traf_name", True),
    ("voyageNo", "voyage_no", True),
    ("location", "location", False),
    ("note", "note", False),
)


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return ceb_time(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _append(parent: etree._Element, fields: Sequence[tuple[str, str, bool]], values: Mapping[str, Any]) -> None:
    for element, key, required in fields:
        value = value_text(values.get(key))
        if value or required:
            sub(parent, element, value)


@dataclass(frozen=True)
class Transfer:
    cop_code: str
    cop_name: str
    dxp_id: str


def _root(message: str) -> etree._Element:
    root = etree.Element(q(message), nsmap={"ceb": xml.CEB_NS})
    root.set("guid", xml.new_guid())
    root.set("version", xml.MESSAGE_VERSION)
    return root


def _transfer(root: etree._Element, transfer: Transfer) -> None:
    element = etree.SubElement(root, q("BaseTransfer"))
    sub(element, "copCode", transfer.cop_code)
    sub(element, "copName", transfer.cop_name[:100])
    sub(element, "dxpMode", "DXP")
    sub(element, "dxpId", transfer.dxp_id)


def refund_message(
    *, head: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], transfer: Transfer
) -> etree._Element:
    """An unsigned CEB213 holding one return request."""
    root = _root(CEB213)
    refund = etree.SubElement(root, q("InvtRefund"))
    _append(etree.SubElement(refund, q("InvtRefundHead")), REFUND_HEAD, head)
    for line in lines:
        _append(etree.SubElement(refund, q("InvtRefundList")), REFUND_LINE, line)
    _transfer(root, transfer)
    return root


def tally_message(*, values: Mapping[str, Any], transfer: Transfer) -> etree._Element:
    """An unsigned CEB215 holding one tally."""
    root = _root(CEB215)
    _append(etree.SubElement(root, q("InvtRefundDetail")), TALLY, values)
    _transfer(root, transfer)
    return root


def _read(element: etree._Element, fields: Sequence[tuple[str, str, bool]]) -> dict[str, str]:
    found = {}
    for name, key, _required in fields:
        child = element.find(q(name))
        if child is not None:
            found[key] = (child.text or "").strip()
    return found


def refund_documents(root: etree._Element) -> list[dict[str, Any]]:
    """Each InvtRefund of a CEB213 as the JSON input names it: head values and ``items``."""
    documents = []
    for refund in root.iterchildren(q("InvtRefund")):
        head = refund.find(q("InvtRefundHead"))
        document: dict[str, Any] = _read(head, REFUND_HEAD) if head is not None else {}
        document["items"] = [_read(line, REFUND_LINE) for line in refund.iterchildren(q("InvtRefundList"))]
        documents.append(document)
    return documents


@dataclass(frozen=True)
class Answer:
    """One return of a CEB214 or CEB216."""

    agent_or_operator: str
    cop_no: str
    invt_no: str
    logistics_no: str
    return_status: str
    return_time: str
    return_info: str


def refund_answers(root: etree._Element) -> list[Answer]:
    return [
        Answer(
            agent_or_operator=text(element, "agentCode"),
            cop_no=text(element, "coElNo"),
            invt_no=text(element, "invtNo"),
            logistics_no="",
            return_status=text(element, "returnStatus"),
            return_time=text(element, "returnTime"),
            return_info=text(element, "returnInfo"),
        )
        for element in root.iterchildren(q("RefundReturn"))
    ]


def tally_answers(root: etree._Element) -> list[Answer]:
    return [
        Answer(
            agent_or_operator=text(element, "operatorCode"),
            cop_no=text(element, "coElNo"),
            invt_no="",
            logistics_no=text(element, "logisticsNo"),
            return_status=text(element, "returnStatus"),
            return_time=text(element, "returnTime"),
            return_info=text(element, "returnInfo"),
        )
        for element in root.iterchildren(q("InvtRefundDetailReturn"))
    ]


def refund_receipt(*, results: Sequence[Mapping[str, str]]) -> bytes:
    """The CEB214 answering an enterprise's CEB213: one RefundReturn per return
    (``agent_code``, ``cop_no``, ``invt_no``, ``ebp_code``, ``ebc_code``, ``return_status``,
    ``return_info``)."""
    root = _root(CEB214)
    stamp = xml.return_time()
    for result in results:
        element = etree.SubElement(root, q("RefundReturn"))
        values = (
            ("guid", xml.new_guid()),
            ("ebpCode", result.get("ebp_code", "")[:18]),
            ("ebcCode", result.get("ebc_code", "")[:18]),
            ("agentCode", (result.get("agent_code") or "-")[:18]),
            ("coElNo", (result.get("cop_no") or "-")[:30]),
            ("invtNo", (result.get("invt_no") or "-")[:20]),
            ("returnStatus", result["return_status"][:10]),
            ("returnTime", stamp),
            ("returnInfo", xml.redact(result["return_info"])[:1000] or "-"),
        )
        for name, value in values:
            if value or name not in {"ebpCode", "ebcCode"}:
                sub(element, name, value)
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body
