"""The customs simulator's summary declarations and export returns (export202205.xsd).

- CEB701 (汇总申请单): checked (the declaring agent signed it; ``msgSeqNo`` within
  ``msgCount``), then each message is answered with a CEB702 carrying the summary's number
  (``sumNo``, the same for every message of one ``agentCode`` + ``copNo``): 2, then 120. Once
  every message of the summary has come, a CEB792 result follows (汇总结果单: ``declSeqNo``,
  ``entryId``, ``decState``). A summary not signed by its agent is answered -1 (1001, a
  signature error of the exchange platform) and gets no number.
- CEB213 (退货申请单): signed by its agentCode, each line's quantities above 0 and gnum unique:
  answered CEB214 2, 120, 800; else the refusal (-625013 signature, -625001 lines).
- CEB215 (退货理货明细单): signed by its operatorCode: answered CEB216 2, then 399; else -1.

Nothing of the product is imported: the simulator is its own process. ``ExportSummaryDesk``
holds what customs remembers; ``take`` returns the log entry and the answers to send, as
steps for the simulator's scheduler.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from lxml import etree

from simulators import ceb
from simulators.common import new_guid, new_webhook_id, now_cst, return_time

EXPORT_SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "export202205.xsd"
TAKEN = frozenset({"CEB701Message", "CEB213Message", "CEB215Message"})
ANSWERS = {"CEB701Message": "CEB702Message", "CEB213Message": "CEB214Message", "CEB215Message": "CEB216Message"}

SUMMARY_RETURN = (
    "guid",
    "agentCode",
    "ebcCode",
    "copNo",
    "preNo",
    "sumNo",
    "msgSeqNo",
    "returnStatus",
    "returnTime",
    "returnInfo",
)
RESULT_HEAD = (
    "guid",
    "customsCode",
    "sumNo",
    "opDate",
    "declSeqNo",
    "decTmpNo",
    "decPreNo",
    "entryId",
    "decState",
    "agentCode",
    "agentName",
    "ebcCode",
    "ebcName",
    "declAgentCode",
    "declAgentName",
    "grossWeight",
    "netWeight",
    "msgCount",
    "msgSeqNo",
    "note",
)
REFUND_RETURN = (
    "guid",
    "ebpCode",
    "ebcCode",
    "agentCode",
    "coElNo",
    "preNo",
    "invtNo",
    "returnStatus",
    "returnTime",
    "returnInfo",
)
TALLY_RETURN = (
    "guid",
    "operatorCode",
    "logisticsCode",
    "logisticsNo",
    "coElNo",
    "preNo",
    "returnStatus",
    "returnTime",
    "returnInfo",
)
INFO = {
    "2": "电子口岸申报中 (declaring)",
    "120": "海关入库 (stored by customs)",
    "399": "海关审结 (concluded)",
    "800": "放行 (released)",
}
# decState of the declaration a summary became: P, entered for declaration (simulated).
DECLARATION_STATE = "P"

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


def to_bytes(root: etree._Element) -> bytes:
    """A message, serialised; raises ValueError when it does not validate (never sent)."""
    errors = schema_errors(root)
    if errors:
        raise ValueError(f"{ceb.local_name(root)} does not validate: {'; '.join(errors)}")
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def _message(root_name: str) -> etree._Element:
    return etree.Element(ceb.ceb(root_name), {"guid": new_guid(), "version": ceb.VERSION}, nsmap={"ceb": ceb.CEB_NS})


def _fill(parent: etree._Element, names: Sequence[str], values: Mapping[str, object]) -> None:
    for name in names:
        value = values.get(name)
        if value is not None and value != "":
            etree.SubElement(parent, ceb.ceb(name)).text = str(value)


def read_message(body: bytes) -> ceb.Incoming | None:
    """A CEB701, CEB213 or CEB215 (bare or in a DXP envelope) checked against the export schema;
    None for any other message (the import side reads it); raises ``ceb.MessageRefused``."""
    root = ceb._parse(body)
    enveloped = ceb.local_name(root) == "DxpMsg"
    cop_msg_id = ""
    if enveloped:
        root, cop_msg_id = ceb._unwrap(root)
    message_type = ceb.local_name(root) if etree.QName(root).namespace == ceb.CEB_NS else ""
    if message_type not in TAKEN:
        return None
    errors = schema_errors(root)
    if errors:
        raise ceb.MessageRefused(ceb.STATUS_SCHEMA, "; ".join(errors), message_type=message_type, cop_msg_id=cop_msg_id)
    return ceb.Incoming(root=root, message_type=message_type, enveloped=enveloped, cop_msg_id=cop_msg_id)


def answer(root_name: str, element: str, names: Sequence[str], returns: Sequence[Mapping[str, object]]) -> bytes:
    root = _message(root_name)
    for values in returns:
        _fill(etree.SubElement(root, ceb.ceb(element)), names, values)
    return to_bytes(root)


@dataclass(frozen=True)
class Outgoing:
    body: bytes
    webhook_id: str
    message_type: str
    summary: dict[str, Any] = field(default_factory=dict)


class Answer(Protocol):
    """What the simulator's scheduler sends: ``Outgoing`` here, or any message built alike."""

    @property
    def body(self) -> bytes: ...
    @property
    def webhook_id(self) -> str: ...
    @property
    def message_type(self) -> str: ...
    @property
    def summary(self) -> dict[str, Any]: ...


Step = Callable[[], Outgoing | None]
AnswerStep = Callable[[], Answer | None]


@dataclass
class SummaryRecord:
    head: dict[str, str]
    sum_no: str
    pre_no: str
    msg_count: int
    seen: set[int] = field(default_factory=set)
    invt_nos: list[str] = field(default_factory=list)
    result_sent: bool = False


class ExportSummaryDesk:
    """What customs remembers of summaries, returns and tallies; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sequence = 0
        self.summaries: dict[tuple[str, str], SummaryRecord] = {}
        self.refunds: dict[tuple[str, str], str] = {}
        self.tallies: dict[tuple[str, str], str] = {}

    def _next(self) -> int:
        with self._lock:
            self._sequence += 1
            return self._sequence

    def take(
        self, message_type: str, root: etree._Element, signature: ceb.SignatureCheck
    ) -> tuple[dict[str, Any], list[Step]]:
        """The log entry and the answer steps for one message of ``TAKEN``."""
        if message_type == "CEB701Message":
            return self._take_summary(root, signature)
        if message_type == "CEB213Message":
            return self._take_refunds(root, signature)
        return self._take_tallies(root, signature)

    # --- CEB701 -> CEB702, CEB792 -------------------------------------------------------------

    def _take_summary(self, root: etree._Element, signature: ceb.SignatureCheck) -> tuple[dict[str, Any], list[Step]]:
        apply = root.find(ceb.ceb("SummaryApply"))
        head_element = apply.find(ceb.ceb("SummaryApplyHead")) if apply is not None else None
        head = ceb.fields(head_element) if head_element is not None else {}
        invt_nos = (
            [ceb.fields(e).get("invtNo", "") for e in apply.iter(ceb.ceb("SummaryApplyList"))]
            if apply is not None
            else []
        )
        key = (head.get("agentCode", ""), head.get("copNo", ""))
        seq, count = _int(head.get("msgSeqNo", "")), _int(head.get("msgCount", ""))
        problem = _signature_problem(signature, key[0])
        if problem is None and not 1 <= seq <= count:
            problem = "-1", f"msgSeqNo {seq} is not within msgCount {count}"
        record: SummaryRecord | None = None
        complete = False
        if problem is None:
            with self._lock:
                record = self.summaries.get(key)
                if record is None:
                    self._sequence += 1
                    number = self._sequence
                    district = f"{head.get('customsCode', ''):0>4.4}"
                    record = SummaryRecord(
                        head=head,
                        sum_no=f"{district}{now_cst():%Y}S{number:09d}",
                        pre_no=f"B{now_cst():%Y%m%d}{number:09d}",
                        msg_count=count,
                    )
                    self.summaries[key] = record
                if seq not in record.seen:
                    record.seen.add(seq)
                    record.invt_nos.extend(invt_nos)
                complete = len(record.seen) == record.msg_count and not record.result_sent
                if complete:
                    record.result_sent = True
        statuses = [problem[0]] if problem else ["2", "120"]

        def step(status: str) -> Outgoing:
            values = {
                "guid": head.get("guid") or new_guid(),
                "agentCode": key[0] or "-",
                "ebcCode": head.get("ebcCode") or "-",
                "copNo": key[1] or "-",
                "preNo": record.pre_no if record else "0" * 18,
                "sumNo": record.sum_no if record and status == "120" else None,
                "msgSeqNo": seq or 1,
                "returnStatus": status,
                "returnTime": return_time(),
                "returnInfo": problem[1] if problem else INFO[status],
            }
            body = answer("CEB702Message", "SummaryReturn", SUMMARY_RETURN, [values])
            return Outgoing(
                body, new_webhook_id(), "CEB702Message", {"copNo": key[1], "msgSeqNo": seq, "returnStatus": status}
            )

        steps: list[Step] = [functools.partial(step, status) for status in statuses]
        if complete and record is not None:
            steps.append(lambda: self._result(record))
        entry = {
            "copNo": key[1],
            "msgSeqNo": seq,
            "msgCount": count,
            "lists": len(invt_nos),
            "plan": " -> ".join(statuses),
        }
        if complete:
            entry["result"] = "CEB792 follows"
        return entry, steps

    def _result(self, record: SummaryRecord) -> Outgoing:
        head = record.head
        number = self._next()
        district = f"{head.get('customsCode', ''):0>4.4}"
        values = {
            "guid": new_guid(),
            "customsCode": district,
            "sumNo": record.sum_no,
            "opDate": return_time(),
            "declSeqNo": f"{district}{now_cst():%Y}D{number:09d}",
            "entryId": f"{district}{now_cst():%Y}0{number:09d}",
            "decState": DECLARATION_STATE,
            "agentCode": head.get("agentCode"),
            "agentName": head.get("agentName"),
            "ebcCode": head.get("ebcCode"),
            "ebcName": head.get("ebcName"),
            "declAgentCode": head.get("declAgentCode"),
            "declAgentName": head.get("declAgentName"),
            "grossWeight": "0",
            "netWeight": "0",
            "msgCount": 1,
            "msgSeqNo": 1,
            "note": f"simulated declaration of {len(record.invt_nos)} lists",
        }
        root = _message("CEB792Message")
        _fill(
            etree.SubElement(etree.SubElement(root, ceb.ceb("SummaryResult")), ceb.ceb("SummaryResultHead")),
            RESULT_HEAD,
            values,
        )
        summary = {"sumNo": record.sum_no, "declSeqNo": values["declSeqNo"], "lists": len(record.invt_nos)}
        return Outgoing(to_bytes(root), new_webhook_id(), "CEB792Message", summary)

    # --- CEB213 -> CEB214 -------------------------------------------------------------------------

    def _take_refunds(self, root: etree._Element, signature: ceb.SignatureCheck) -> tuple[dict[str, Any], list[Step]]:
        taken: list[dict[str, str]] = []
        steps: list[Step] = []
        for refund in root.iter(ceb.ceb("InvtRefund")):
            head_element = refund.find(ceb.ceb("InvtRefundHead"))
            head = ceb.fields(head_element) if head_element is not None else {}
            lines = [ceb.fields(line) for line in refund.iter(ceb.ceb("InvtRefundList"))]
            key = (head.get("agentCode", ""), head.get("coElNo", ""))
            problem = _signature_problem(signature, key[0], code="-625013")
            if problem is None:
                problem = _refund_lines_problem(lines)
            pre_no = f"B{now_cst():%Y%m%d}{self._next():09d}"
            if problem is None:
                with self._lock:
                    self.refunds[key] = pre_no
            statuses = [problem[0]] if problem else ["2", "120", "800"]
            steps.extend(functools.partial(_refund_answer, status, head, pre_no, problem) for status in statuses)
            taken.append({"coElNo": key[1], "invtNo": head.get("invtNo", ""), "plan": " -> ".join(statuses)})
        return {"returns": taken}, steps

    # --- CEB215 -> CEB216 -------------------------------------------------------------------------

    def _take_tallies(self, root: etree._Element, signature: ceb.SignatureCheck) -> tuple[dict[str, Any], list[Step]]:
        taken: list[dict[str, str]] = []
        steps: list[Step] = []
        for detail in root.iter(ceb.ceb("InvtRefundDetail")):
            head = ceb.fields(detail)
            key = (head.get("operatorCode", ""), head.get("coElNo", ""))
            problem = _signature_problem(signature, key[0])
            statuses = [problem[0]] if problem else ["2", "399"]
            steps.extend(functools.partial(_tally_answer, status, head, problem) for status in statuses)
            taken.append({"coElNo": key[1], "logisticsNo": head.get("logisticsNo", ""), "plan": " -> ".join(statuses)})
        return {"tallies": taken}, steps


def _refund_answer(status: str, head: dict[str, str], pre_no: str, problem: tuple[str, str] | None) -> Outgoing:
    values = {
        "guid": head.get("guid") or new_guid(),
        "ebpCode": head.get("ebpCode"),
        "ebcCode": head.get("ebcCode"),
        "agentCode": head.get("agentCode") or "-",
        "coElNo": head.get("coElNo") or "-",
        "preNo": pre_no,
        "invtNo": head.get("invtNo") or "-",
        "returnStatus": status,
        "returnTime": return_time(),
        "returnInfo": problem[1] if problem else INFO[status],
    }
    body = answer("CEB214Message", "RefundReturn", REFUND_RETURN, [values])
    return Outgoing(body, new_webhook_id(), "CEB214Message", {"coElNo": values["coElNo"], "returnStatus": status})


def _tally_answer(status: str, head: dict[str, str], problem: tuple[str, str] | None) -> Outgoing:
    values = {
        "guid": head.get("guid") or new_guid(),
        "operatorCode": head.get("operatorCode") or "-",
        "logisticsCode": head.get("logisticsCode") or "-",
        "logisticsNo": head.get("logisticsNo") or "-",
        "coElNo": head.get("coElNo") or "-",
        "returnStatus": status,
        "returnTime": return_time(),
        "returnInfo": problem[1] if problem else INFO[status],
    }
    body = answer("CEB216Message", "InvtRefundDetailReturn", TALLY_RETURN, [values])
    return Outgoing(body, new_webhook_id(), "CEB216Message", {"coElNo": values["coElNo"], "returnStatus": status})


def _int(value: str) -> int:
    return int(value) if value.isdigit() else 0


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


def _signature_problem(signature: ceb.SignatureCheck, declarant: str, *, code: str = "-1") -> tuple[str, str] | None:
    if signature.problem:
        return code, f"{code} 验签失败 ({signature.problem}: {signature.info})"
    if declarant not in signature.signers:
        return code, f"{code} {declarant} 与卡信息不匹配 (signed by another enterprise)"
    return None


def _refund_lines_problem(lines: Sequence[Mapping[str, str]]) -> tuple[str, str] | None:
    gnums = [line.get("gnum", "") for line in lines]
    if not lines or len(set(gnums)) != len(gnums):
        return "-625001", "-625001 退货申请单报文校验失败, 表体为空或商品项号重复"
    for line in lines:
        if _decimal(line.get("qty", "")) <= 0 or _decimal(line.get("qty1", "")) <= 0:
            return "-625001", f"-625001 退货申请单报文校验失败, 第[{line.get('gnum')}]项数量须大于0"
    return None
