"""The customs simulator: ``python -m simulators.customs --port 8201 --callback-url URL --secret whsec_...``.

``POST /ceb`` takes CEB621 (lists), CEB311/411/511 (order, payment, waybill), CEB623
(cancellation), CEB625 (return request), CEB513 (a waybill signed for) and CEB711 (a site
operator's arrival manifest, 入库明细单), bare or inside a DXP envelope. A message that is not well-formed, does not
validate, or is of another type is answered at once with HTTP 400 and a CEB900Message, and
nothing else happens. Otherwise the answer is HTTP 200 with a small ``CustomsAck`` XML, and the
receipts follow as signed callbacks (``simulators/README.md`` has the whole contract).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from simulators import ceb, sandbox, tax
from simulators import customs_export as export_documents
from simulators import customs_export_summary as export_summary
from simulators.common import (
    CallbackSender,
    Handler,
    MessageLog,
    Scheduler,
    SimulatorProcess,
    SimulatorServer,
    add_option,
    configure_logging,
    json_body,
    logger,
    new_guid,
    new_webhook_id,
    now_cst,
    return_time,
)

XML = "application/xml"
ENV_PREFIX = "SIM_CUSTOMS"
SCRIPTS = ("default", "reject", "review", "inspection", "chaos")
SINGLE_TRANSACTION_LIMIT = Decimal(5000)

# The status steps after "2" of a list that passed customs' own checks, by script.
SCRIPT_STEPS: dict[str, tuple[str, ...]] = {
    "default": ("120", "800"),
    "reject": ("100",),
    "review": ("120", "300", "800"),
    "inspection": ("120", "500", "800"),  # for the inspected share; the others follow "default"
    "chaos": ("120", "120=", "800", "120!"),  # "=": the same message again; "!": a late new 120
}
STATUS_INFO = {
    "1": "电子口岸已暂存 (stored as a draft, not declared)",
    "2": "电子口岸申报中 (declaring)",
    "100": "[-621003] 清单申报失败: 海关退单 (customs rejected the list; simulator script reject)",
    "120": "海关入库 (accepted by customs)",
    "300": "人工审核 (manual review)",
    "399": "海关审结 (concluded)",
    "500": "查验 (inspection)",
    "501": "扣留移送通关 (detained, transferred to clearance)",
    "502": "扣留移送缉私 (detained, transferred to anti-smuggling)",
    "503": "扣留移送法规 (detained, transferred to the legal department)",
    "599": "其它扣留 (other detention)",
    "800": "放行 (released)",
}
# Statuses from which a list may be changed (appType 2) or declared again (appType 1).
REDECLARABLE = frozenset({"1", "100"})
# Where a list is, for -621004/-621011/-621012 and cancellations, by agentCode + copNo.
FINAL_NEGATIVE = "-"


@dataclass
class CustomsConfig:
    host: str = "127.0.0.1"
    port: int = 8201
    callback_url: str = "http://127.0.0.1:8000/api/v1/webhooks/customs"
    secret: str = ""
    certificates: Path | None = None
    script: str = "default"
    step_delay: float = 0.5
    inspection_rate: float = 0.2
    seed: int = 0
    fail_rate: float | None = None  # None: 0.1 for the chaos script, else 0
    slow_ms: int = 0
    callback_attempts: int = 4
    callback_backoff: float = 0.5
    callback_timeout: float = 5.0
    workers: int = 32
    # More lists than this in one CEB621: each is answered -621030 (the schema's own limit is 100).
    max_lists: int = 100
    # After a released list's bill: a CEB818 summarising it, then one with its payment notice (paid).
    settle_tax: bool = True

    @property
    def effective_fail_rate(self) -> float:
        if self.fail_rate is not None:
            return self.fail_rate
        return 0.1 if self.script == "chaos" else 0.0


@dataclass
class ListRecord:
    """What customs remembers of one list (agentCode + copNo)."""

    head: dict[str, str]
    items: list[dict[str, str]]
    pre_no: str
    invt_no: str = ""
    status: str = "2"
    # The tax bill in force (CEB816), and what return requests took of each line (by gnum).
    tax_no: str = ""
    returned: dict[int, Decimal] = field(default_factory=dict)
    refunds: int = 0
    # What the end of its orderNo forces (docs/sandbox.md).
    triggers: sandbox.Triggers = field(default_factory=sandbox.Triggers)


@dataclass(frozen=True)
class Outgoing:
    body: bytes
    webhook_id: str
    message_type: str
    summary: dict[str, Any] = field(default_factory=dict)


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


class CustomsSimulator(SimulatorProcess):
    name = "customs"

    def __init__(self, config: CustomsConfig) -> None:
        if config.script not in SCRIPTS:
            raise ValueError(f"unknown script {config.script!r}; one of {', '.join(SCRIPTS)}")
        self.config = config
        self.registry = ceb.CertificateRegistry(config.certificates)
        self.log = MessageLog()
        self.sender = CallbackSender(
            url=config.callback_url,
            secret=config.secret,
            attempts=config.callback_attempts,
            backoff=config.callback_backoff,
            timeout=config.callback_timeout,
        )
        self.scheduler = Scheduler(workers=config.workers)
        self._lock = threading.Lock()
        self._random = random.Random(config.seed)  # noqa: S311 - a simulation, not security
        self._sequence = 0
        self._lists: dict[tuple[str, str], ListRecord] = {}
        self._by_invt_no: dict[str, ListRecord] = {}
        self._seen_guids: set[str] = set()
        # Message guid -> POSTs answered 503 because a list of it asks to fail (sandbox FAIL).
        self._forced_failures: dict[str, int] = {}
        # The waybills customs knows (logisticsCode, logisticsNo): taken in a CEB511, or named
        # by a list it took.
        self._waybills: set[tuple[str, str]] = set()
        # Arrival manifests taken (operatorCode, copNo) and the rkdNo each was given.
        self._arrivals: dict[tuple[str, str], str] = {}
        # Summary declarations (CEB701) and export returns (CEB213, CEB215).
        self.export_summaries = export_summary.ExportSummaryDesk()
        # Export documents, orders to departures (CEB303 ... CEB607): customs_export.py.
        self.export_documents = export_documents.ExportDesk()
        self.server = SimulatorServer(
            (config.host, config.port),
            {("POST", "/ceb"): self._post_ceb, ("GET", "/health"): self._health, ("GET", "/messages"): self._messages},
        )

    # --- HTTP -------------------------------------------------------------------------------

    def _health(self, handler: Handler) -> None:
        handler.respond(
            200, json_body({"status": "ok", "service": "customs", "script": self.config.script}), "application/json"
        )

    def _messages(self, handler: Handler) -> None:
        handler.respond(200, json_body(self.log.snapshot()), "application/json")

    def _chance(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def _post_ceb(self, handler: Handler) -> None:
        body = handler.read_body()
        if body is None:
            return
        if self.config.slow_ms:
            time.sleep(self.config.slow_ms / 1000)
        failing = self._chance(self.config.effective_fail_rate)
        # Half the simulated failures happen after the message was taken (the answer is lost):
        # a sender's retry of the same message guid is then acknowledged and not processed again.
        if failing and self._chance(0.5):
            self.log.received({"outcome": "failed before processing (simulated)", "bytes": len(body)})
            handler.respond(503, json_body({"error": "simulated customs failure"}), "application/json")
            return
        try:
            incoming = (
                export_summary.read_message(body) or export_documents.read_message(body) or ceb.read_message(body)
            )
        except ceb.MessageRefused as refused:
            guid = new_guid()
            answer = ceb.refusal(guid, refused, return_time())
            self.log.received(
                {
                    "message_type": refused.message_type,
                    "outcome": "refused",
                    "status": refused.status,
                    "info": refused.info,
                }
            )
            self.log.sent(
                {"message_type": "CEB900Message", "guid": guid, "channel": "http answer", "body": answer.decode()}
            )
            handler.respond(400, answer, XML)
            return
        guid = incoming.root.get("guid", "")
        if self._forced_failure(incoming, guid):
            self.log.received({"message_type": incoming.message_type, "guid": guid, "outcome": "failed (sandbox FAIL)"})
            handler.respond(503, json_body({"error": "simulated customs failure (sandbox FAIL)"}), "application/json")
            return
        with self._lock:
            duplicate = guid in self._seen_guids
            self._seen_guids.add(guid)
        if duplicate:
            self.log.received(
                {"message_type": incoming.message_type, "guid": guid, "outcome": "duplicate guid, ignored"}
            )
        else:
            self._take(incoming)
        if failing:
            handler.respond(500, json_body({"error": "simulated customs failure (message taken)"}), "application/json")
            return
        ack = etree.Element(
            "CustomsAck",
            {"guid": guid, "messageType": incoming.message_type, "duplicate": "true" if duplicate else "false"},
        )
        handler.respond(200, etree.tostring(ack, xml_declaration=True, encoding="UTF-8"), XML)

    @staticmethod
    def _export_answer(step: export_summary.AnswerStep) -> Outgoing | None:
        answer = step()
        return None if answer is None else Outgoing(answer.body, answer.webhook_id, answer.message_type, answer.summary)

    def _forced_failure(self, incoming: ceb.Incoming, guid: str) -> bool:
        """Should this POST of a CEB621 be answered 503 (a list of it ends ``-FAIL[-n]``)?
        Each message guid fails that many times, then is taken as usual."""
        if incoming.message_type != "CEB621Message":
            return False
        wanted = 0
        for head in incoming.root.iter(ceb.ceb("InventoryHead")):
            try:
                wanted = max(wanted, sandbox.parse(ceb.fields(head).get("orderNo", "")).failures)
            except sandbox.TriggerError:
                continue  # answered -621001 when the list is taken
        with self._lock:
            if guid in self._seen_guids or self._forced_failures.get(guid, 0) >= wanted:
                return False
            self._forced_failures[guid] = self._forced_failures.get(guid, 0) + 1
            return True

    # --- Taking a message -------------------------------------------------------------------

    def _take(self, incoming: ceb.Incoming) -> None:
        signature = ceb.check_signature(incoming.root, self.registry)
        root = incoming.root
        guid = root.get("guid", "")
        entry: dict[str, Any] = {
            "message_type": incoming.message_type,
            "guid": guid,
            "enveloped": incoming.enveloped,
            "signers": sorted(signature.signers),
            "signature_problem": signature.problem,
        }
        if incoming.message_type == "CEB621Message":
            inventories = list(root.iter(ceb.ceb("Inventory")))
            too_many = None
            if len(inventories) > self.config.max_lists:
                limit = f"{len(inventories)} lists; at most {self.config.max_lists}"
                too_many = ("-621030", f"-621030 CEB621Message 接收失败[{guid}], 清单数据超过限制 ({limit})")
            entry["lists"] = [self._take_list(inventory, signature, too_many) for inventory in inventories]
        elif incoming.message_type == "CEB623Message":
            entry["cancellations"] = [
                self._take_cancel(cancel, signature) for cancel in root.iter(ceb.ceb("InvtCancel"))
            ]
        elif incoming.message_type == "CEB625Message":
            entry["returns"] = [self._take_refund(refund, signature) for refund in root.iter(ceb.ceb("InvtRefund"))]
        elif incoming.message_type == "CEB513Message":
            entry["statuses"] = self._take_logistics_statuses(root, signature)
        elif incoming.message_type == "CEB711Message":
            entry["arrival"] = self._take_arrival(root, signature)
        elif incoming.message_type in export_summary.TAKEN:
            # Summary declarations and export returns: customs_export_summary.py.
            summary_taken, summary_steps = self.export_summaries.take(incoming.message_type, root, signature)
            entry["export"] = summary_taken
            self._chain([functools.partial(self._export_answer, step) for step in summary_steps])
        elif incoming.message_type in export_documents.TAKEN:
            taken, steps = self.export_documents.take(incoming.message_type, root, signature)
            entry["export"] = taken
            self._chain([functools.partial(self._export_answer, step) for step in steps])
        else:
            entry["documents"] = self._take_documents(incoming.message_type, root, signature)
        self.log.received(entry)

    def _next_numbers(self, customs_code: str) -> tuple[str, str]:
        """A preNo (B + date + 9 digits) and an invtNo (district + year + I + 9 digits), 18 each."""
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        today = now_cst()
        return f"B{today:%Y%m%d}{sequence:09d}", f"{customs_code:0>4.4}{today:%Y}I{sequence:09d}"

    def _signature_failure(self, signature: ceb.SignatureCheck, declarant: str) -> tuple[str, str] | None:
        """The (returnStatus, returnInfo) when the declarant did not sign the message."""
        if signature.problem == "missing":
            return "-621026", f"-621026 保存签名信息发生错误,签名信息为空 ({signature.info})"
        if signature.problem == "invalid":
            return "-621029", f"-621029 验签失败 ({signature.info})"
        if declarant not in signature.signers:
            return "-621015", f"-621015 {declarant}与卡信息不匹配, 没有权限进行操作 (signed by another enterprise)"
        return None

    @staticmethod
    def _list_problem(head: dict[str, str], items: list[dict[str, str]]) -> tuple[str, str] | None:  # noqa: PLR0911
        """Customs' own small checks of a list, from the message alone."""
        gnums = [item.get("gnum", "") for item in items]
        if gnums != [str(n) for n in range(1, len(items) + 1)]:
            return "-621027", "-621027 请确认表体gnum无重复 (gnum must run 1, 2, 3...)"
        if head.get("currency") != "142" or any(item.get("currency") != "142" for item in items):
            return "-621001", "-621001 清单报文校验失败, currency must be 142"
        if head.get("buyerIdType") != "1":
            return "-621001", "-621001 清单报文校验失败, buyerIdType must be 1"
        if head.get("tradeMode") == "9610" and not all(head.get(n) for n in ("trafNo", "voyageNo", "billNo")):
            return "-621001", "-621001 清单报文校验失败, 9610 needs trafNo, voyageNo and billNo"
        if head.get("tradeMode") == "1210" and (
            not all(head.get(n) for n in ("emsNo", "areaCode", "areaName"))
            or not all(item.get("itemRecordNo") for item in items)
        ):
            return "-621001", "-621001 清单报文校验失败, 1210 needs emsNo, areaCode, areaName and itemRecordNo"
        dutiable = sum((_decimal(item.get("totalPrice", "")) for item in items), Decimal(0))
        dutiable += _decimal(head.get("freight", "")) + _decimal(head.get("insuredFee", ""))
        single_piece = len(items) == 1 and _decimal(items[0].get("qty", "")) == 1
        if dutiable > SINGLE_TRANSACTION_LIMIT and not single_piece:
            return "-621005", f"-621005 清单{head.get('copNo', '')}的购买金额超过单笔限额[5000]"
        return None

    def _take_list(
        self, inventory: etree._Element, signature: ceb.SignatureCheck, message_problem: tuple[str, str] | None
    ) -> dict[str, str]:
        """One list of a CEB621 (which may hold up to 100): its own checks and receipts.
        ``message_problem``: a refusal of the whole message, answered for each of its lists."""
        head_element = inventory.find(ceb.ceb("InventoryHead"))
        head = ceb.fields(head_element) if head_element is not None else {}
        items = [ceb.fields(item) for item in inventory.iter(ceb.ceb("InventoryList"))]
        key = (head.get("agentCode", ""), head.get("copNo", ""))
        pre_no, invt_no = self._next_numbers(head.get("customsCode", ""))
        problem = message_problem or self._signature_failure(signature, key[0])
        triggers, forced = _list_triggers(head)
        with self._lock:
            known = self._lists.get(key)
            if problem is None and head.get("appType") == "1" and known and known.status not in REDECLARABLE:
                problem = "-621004", f"-621004 清单[{key[1]}]已经申报过, 请勿重复申报"
            elif problem is None and head.get("appType") == "2" and known is None:
                problem = "-621011", f"-621011 不存在已申报的清单[{key[1]}], 无法进行改单操作"
            elif problem is None and head.get("appType") == "2" and known and known.status not in REDECLARABLE:
                problem = "-621012", f"-621012 清单[{key[1]}]的申报状态不符合改单申报的条件"
            elif problem is None and head.get("appType") == "3":
                problem = "-621016", "-621016 删除 (appType 3) is not simulated: cancel a released list with CEB623"
            if problem is None:
                problem = self._list_problem(head, items) or forced
            if known is not None:
                pre_no = known.pre_no
            record = ListRecord(head=head, items=items, pre_no=pre_no, invt_no=invt_no, triggers=triggers)
            if problem is None:
                record.status = "1" if head.get("appStatus") == "1" else "2"
                self._lists[key] = record
                self._waybills.add((head.get("logisticsCode", ""), head.get("logisticsNo", "")))
        if problem is not None:
            statuses = [problem[0]]
        elif record.status == "1":
            statuses = ["1"]
        else:
            statuses = ["2", *(triggers.steps() or self._script_steps())]
        self._run_list_chain(record, statuses, problem[1] if problem else "")
        taken = {"copNo": key[1], "agentCode": key[0], "plan": " -> ".join(statuses)}
        if triggers != sandbox.Triggers():
            taken["sandbox"] = " ".join(
                f"{name}={value}" for name, value in dataclasses.asdict(triggers).items() if value
            )
        return taken

    def _script_steps(self) -> tuple[str, ...]:
        script = self.config.script
        if script == "inspection" and not self._chance(self.config.inspection_rate):
            script = "default"
        return SCRIPT_STEPS[script]

    # --- Lists: receipts on a schedule ------------------------------------------------------

    def _inventory_return(self, record: ListRecord, status: str, info: str) -> dict[str, object]:
        head = record.head
        with_invt_no = status in {"120", "300", "399", "500", "800", "899"} or status.startswith("5")
        return {
            "guid": head.get("guid"),
            "customsCode": head.get("customsCode"),
            "ebpCode": head.get("ebpCode"),
            "ebcCode": head.get("ebcCode"),
            "agentCode": head.get("agentCode"),
            "copNo": head.get("copNo"),
            "preNo": record.pre_no,
            "invtNo": record.invt_no if with_invt_no else None,
            "returnStatus": status,
            "returnTime": return_time(),
            "returnInfo": info or STATUS_INFO.get(status, status),
        }

    def _list_receipt(self, record: ListRecord, status: str, info: str) -> Outgoing:
        guid = new_guid()
        body = ceb.receipt("CEB622Message", guid, [self._inventory_return(record, status, info)])
        summary = {"copNo": record.head.get("copNo"), "returnStatus": status, "invtNo": record.invt_no}
        return Outgoing(body, new_webhook_id(), "CEB622Message", summary)

    def _run_list_chain(self, record: ListRecord, statuses: Sequence[str], problem_info: str) -> None:
        previous: list[Outgoing] = []
        steps: list[Callable[[], Outgoing | None]] = []
        for status in statuses:

            def step(status: str = status) -> Outgoing | None:
                if status.endswith("="):  # the same message again, same webhook-id
                    return previous[-1]
                real = status.rstrip("!")
                outgoing = self._list_receipt(record, real, problem_info if real.startswith("-") else "")
                if not status.endswith("!"):  # a late receipt does not move customs' own record
                    with self._lock:
                        record.status = real
                        if real == "120":
                            self._by_invt_no[record.invt_no] = record
                    previous.append(outgoing)
                return outgoing

            steps.append(step)
            if status == "800":
                steps.append(lambda: self._tax_bill(record))
                if self.config.settle_tax:
                    # Customs summarises the bill, then the summary is paid (its payment notice).
                    steps.append(lambda: self._bill_status(record, "2"))
                    steps.append(lambda: self._bill_status(record, "2", ent_duty_no=f"DUTY{record.invt_no}"))
        self._chain(steps, delay=record.triggers.step_delay)

    def _tax_bill(
        self, record: ListRecord, *, tax_no: str = "", remaining: dict[int, Decimal] | None = None
    ) -> Outgoing:
        """The list's CEB816; ``remaining``: the quantities left of each line after returns (a
        bill issued again, ``tax_no``), freight and insurance in proportion to the goods left."""
        head = record.head
        items = []
        declared_goods = kept_goods = Decimal(0)
        for item in record.items:
            total = _decimal(item.get("totalPrice", ""))
            declared_goods += total
            if remaining is not None:
                qty = _decimal(item.get("qty", ""))
                left = remaining.get(int(item["gnum"]), Decimal(0))
                if left <= 0:
                    continue
                total = tax.fen(total * left / qty) if qty else Decimal(0)
            kept_goods += total
            items.append(tax.Item(gnum=int(item["gnum"]), gcode=item.get("gcode", ""), total_price=total))
        share = kept_goods / declared_goods if declared_goods else Decimal(1)
        taxes = tax.compute(
            items,
            freight=tax.fen(_decimal(head.get("freight", "")) * share),
            insured_fee=tax.fen(_decimal(head.get("insuredFee", "")) * share),
        )
        if remaining is None and record.triggers.surcharge and taxes:
            # Sandbox SURCHARGE: the bill asks more VAT than the rates give (on its first line).
            taxes[0] = dataclasses.replace(taxes[0], vat=tax.fen(taxes[0].vat + record.triggers.surcharge))
        totals = {
            "customsTax": sum((t.customs_tax for t in taxes), Decimal("0.00")),
            "valueAddedTax": sum((t.vat for t in taxes), Decimal("0.00")),
            "consumptionTax": sum((t.consumption_tax for t in taxes), Decimal("0.00")),
        }
        tax_head = {
            "guid": new_guid(),
            "returnTime": return_time(),
            "invtNo": record.invt_no,
            "taxNo": tax_no or f"TAX{record.invt_no}",
            **totals,
            "status": "1",
            "note": "simulator tax bill: fixed rates of simulators/tax.py"
            + (
                f", sandbox surcharge {record.triggers.surcharge}"
                if remaining is None and record.triggers.surcharge
                else ""
            ),
            "assureCode": head.get("assureCode"),
            "ebcCode": head.get("ebcCode"),
            "logisticsCode": head.get("logisticsCode"),
            "agentCode": head.get("agentCode"),
            "customsCode": head.get("customsCode"),
        }
        lines = [
            {
                "gnum": t.gnum,
                "gcode": t.gcode,
                "taxPrice": t.dutiable,
                "customsTax": t.customs_tax,
                "valueAddedTax": t.vat,
                "consumptionTax": t.consumption_tax,
            }
            for t in taxes
        ]
        guid = new_guid()
        with self._lock:
            record.tax_no = str(tax_head["taxNo"])
        body = ceb.tax_bill(guid, [(tax_head, lines)])
        summary = {"copNo": head.get("copNo"), "invtNo": record.invt_no, **{k: str(v) for k, v in totals.items()}}
        return Outgoing(body, new_webhook_id(), "CEB816Message", summary)

    def _chain(self, steps: Sequence[Callable[[], Outgoing | None]], *, delay: float | None = None) -> None:
        """Run the steps one after the other, ``delay`` (default ``step_delay``) apart; a step
        waits for the one before it to be delivered (or given up), so one document's receipts
        never overtake each other."""
        delay = self.config.step_delay if delay is None else delay

        def run(index: int) -> None:
            try:
                outgoing = steps[index]()
            except ValueError:
                logger.exception("a receipt did not validate; not sent")
                outgoing = None
            if outgoing is not None:
                self._deliver(outgoing)
            if index + 1 < len(steps):
                self.scheduler.call_later(delay, lambda: run(index + 1))

        if steps:
            self.scheduler.call_later(delay, lambda: run(0))

    def _deliver(self, outgoing: Outgoing) -> None:
        delivery = self.sender.send(outgoing.body, webhook_id=outgoing.webhook_id, content_type=XML)
        self.log.sent(
            {
                "message_type": outgoing.message_type,
                "webhook_id": outgoing.webhook_id,
                **outgoing.summary,
                "delivered": delivery.delivered,
                "attempts": delivery.attempts,
                "status_code": delivery.status_code,
                "error": delivery.error,
                "body": outgoing.body.decode(),
            }
        )

    # --- Orders, payments, waybills ---------------------------------------------------------

    def _take_documents(
        self, message_type: str, root: etree._Element, signature: ceb.SignatureCheck
    ) -> list[dict[str, str]]:
        returns: list[dict[str, object]] = []
        for head_name, check in (
            ("OrderHead", _order_problem),
            ("PaymentHead", _payment_problem),
            ("LogisticsHead", _waybill_problem),
        ):
            for element in root.iter(ceb.ceb(head_name)):
                head = ceb.fields(element)
                parent = element.getparent()
                items = [ceb.fields(i) for i in parent.iter(ceb.ceb("OrderList"))] if parent is not None else []
                status, info = "120", "新增申报成功 (accepted by customs)"
                failure = _document_signature_failure(head_name, head, signature)
                problem = failure or check(head, items)
                if problem is not None:
                    status, info = problem
                elif head_name == "LogisticsHead":
                    with self._lock:
                        self._waybills.add((head.get("logisticsCode", ""), head.get("logisticsNo", "")))
                returns.append(_document_return(head_name, head, status, info))
        receipt_type = ceb.RECEIPT_OF[message_type]
        body = ceb.receipt(receipt_type, new_guid(), returns)
        summary = {"returnStatus": ",".join(str(r["returnStatus"]) for r in returns)}
        outgoing = Outgoing(body, new_webhook_id(), receipt_type, summary)
        steps: list[Callable[[], Outgoing | None]] = [lambda: outgoing]
        if self.config.script == "chaos":
            steps.append(lambda: outgoing)  # the same receipt twice, same webhook-id
        self._chain(steps)
        return [{"returnStatus": str(r["returnStatus"])} for r in returns]

    # --- Waybills signed for (CEB513 -> CEB514) ------------------------------------------------

    def _take_logistics_statuses(self, root: etree._Element, signature: ceb.SignatureCheck) -> list[dict[str, str]]:
        """Each LogisticsStatus: -505011 when the logistics enterprise did not sign it, -505014
        for a waybill customs does not know, else 120. One CEB514 answers the message."""
        returns: list[dict[str, object]] = []
        for element in root.iter(ceb.ceb("LogisticsStatus")):
            head = ceb.fields(element)
            key = (head.get("logisticsCode", ""), head.get("logisticsNo", ""))
            problem = _status_signature_failure(signature, key[0])
            with self._lock:
                known = key in self._waybills
            if problem is None and not known:
                problem = "-505014", f"-505014 物流运单状态报文处理失败, 未找到对应操作 (no waybill {key[1]})"
            status, info = problem or ("120", "运单签收状态已入库 (signed-for status stored)")
            returns.append(
                {
                    "guid": head.get("guid"),
                    "logisticsCode": key[0],
                    "logisticsNo": key[1],
                    "logisticsStatus": head.get("logisticsStatus") or "S",
                    "returnStatus": status,
                    "returnTime": return_time(),
                    "returnInfo": info,
                }
            )
        body = ceb.receipt("CEB514Message", new_guid(), returns)
        summary = {"returnStatus": ",".join(str(r["returnStatus"]) for r in returns)}
        outgoing = Outgoing(body, new_webhook_id(), "CEB514Message", summary)
        self._chain([lambda: outgoing])
        return [{"logisticsNo": str(r["logisticsNo"]), "returnStatus": str(r["returnStatus"])} for r in returns]

    # --- Arrival manifests (CEB711 -> CEB712) ----------------------------------------------------

    def _take_arrival(self, root: etree._Element, signature: ceb.SignatureCheck) -> dict[str, str]:
        """An arrival manifest: -800001 when the operator did not sign it, -800003 when its
        copNo was taken before, else 2 then 120 with a new rkdNo (district + year + R + 9 digits)."""
        head_element = root.find(f"{ceb.ceb('Delivery')}/{ceb.ceb('DeliveryHead')}")
        head = ceb.fields(head_element) if head_element is not None else {}
        key = (head.get("operatorCode", ""), head.get("copNo", ""))
        pre_no, _invt_no = self._next_numbers(head.get("customsCode", ""))
        problem = _arrival_signature_failure(signature, key[0])
        rkd_no = ""
        with self._lock:
            if problem is None and key in self._arrivals:
                problem = "-800003", f"-800003 入库明细单报已存在 ({key[1]})"
            if problem is None:
                self._sequence += 1
                rkd_no = f"{head.get('customsCode', ''):0>4.4}{now_cst():%Y}R{self._sequence:09d}"
                self._arrivals[key] = rkd_no
        statuses = [problem[0]] if problem else ["2", "120"]

        def answer(status: str) -> Outgoing:
            values = {
                "guid": head.get("guid"),
                "customsCode": head.get("customsCode"),
                "operatorCode": key[0],
                "copNo": key[1],
                "preNo": pre_no,
                "rkdNo": rkd_no if status == "120" else None,
                "returnStatus": status,
                "returnTime": return_time(),
                "returnInfo": problem[1]
                if problem
                else {"2": "电子口岸申报中 (declaring)", "120": "入库明细单已入库 (stored by customs)"}[status],
            }
            body = ceb.receipt("CEB712Message", new_guid(), [values])
            return Outgoing(body, new_webhook_id(), "CEB712Message", {"copNo": key[1], "returnStatus": status})

        self._chain([functools.partial(answer, status) for status in statuses])
        return {"copNo": key[1], "operatorCode": key[0], "plan": " -> ".join(statuses), "rkdNo": rkd_no}

    # --- Cancellations ----------------------------------------------------------------------

    def _take_cancel(self, cancel: etree._Element, signature: ceb.SignatureCheck) -> dict[str, str]:
        head = ceb.fields(cancel)
        invt_no = head.get("invtNo", "")
        with self._lock:
            record = self._by_invt_no.get(invt_no)
        problem = self._signature_failure(signature, head.get("agentCode", ""))
        if problem is None and record is None:
            problem = "-623003", f"-623003 系统中不存在清单编号为[{invt_no}]的清单!"
        elif problem is None and record is not None and record.status != "800":
            problem = "-623005", f"-623005 清单的状态不符合撤单申报要求(清单编号[{invt_no}])!"
        statuses = [problem[0]] if problem else ["120", "399"]
        pre_no = record.pre_no if record else (head.get("preNo") if len(head.get("preNo", "")) == 18 else "0" * 18)
        cop_no = head.get("copNo") or (record.head.get("copNo") if record else "") or invt_no[:20]

        def step(status: str) -> Outgoing:
            values = {
                "guid": head.get("guid"),
                "customsCode": head.get("customsCode"),
                "agentCode": head.get("agentCode"),
                "ebpCode": head.get("ebpCode"),
                "ebcCode": head.get("ebcCode"),
                "copNo": cop_no,
                "preNo": pre_no,
                "invtNo": invt_no,
                "returnStatus": status,
                "returnTime": return_time(),
                "returnInfo": problem[1]
                if problem
                else {"120": "撤单申请已入库", "399": "撤单审结 (cancelled)"}[status],
            }
            if status == "399" and record is not None:
                with self._lock:
                    record.status = "cancelled"
            body = ceb.receipt("CEB624Message", new_guid(), [values])
            return Outgoing(body, new_webhook_id(), "CEB624Message", {"invtNo": invt_no, "returnStatus": status})

        steps: list[Callable[[], Outgoing | None]] = [functools.partial(step, status) for status in statuses]
        if "399" in statuses and record is not None:
            steps.append(lambda: self._bill_status(record, "3"))  # a cancelled list's tax is voided
        self._chain(steps)
        return {"invtNo": invt_no, "plan": " -> ".join(statuses)}

    # --- Return requests ---------------------------------------------------------------------

    @staticmethod
    def _refund_signature_failure(signature: ceb.SignatureCheck, declarant: str) -> tuple[str, str] | None:
        if signature.problem == "missing":
            return "-625028", f"-625028 保存签名信息发生错误,签名信息为空 ({signature.info})"
        if signature.problem == "invalid":
            return "-625208", f"-625208 验签失败 ({signature.info})"
        if declarant not in signature.signers:
            return "-625013", f"-625013 退货申请单和证书中的申报单位代码不一致 ({declarant})"
        return None

    @staticmethod
    def _refund_problem(record: ListRecord, lines: list[dict[str, str]]) -> tuple[str, str] | None:
        """Each line must be a line of the list, its quantity above 0 and within what remains."""
        declared = {int(item["gnum"]): _decimal(item.get("qty", "")) for item in record.items}
        for line in lines:
            gnum, qty = int(line.get("gnum", "0")), _decimal(line.get("qty", ""))
            if gnum not in declared:
                return "-625209", f"-625209 退货申请单[{record.invt_no}],在关联的清单中未找到表体序号为[{gnum}]的数据"
            if qty <= 0 or qty > declared[gnum] - record.returned.get(gnum, Decimal(0)):
                return "-625001", f"-625001 退货申请单报文校验失败, 表体第[{gnum}]项数量超过清单可退数量"
        return None

    def _take_refund(self, refund: etree._Element, signature: ceb.SignatureCheck) -> dict[str, str]:
        """One return request of a CEB625: refused at once (-625016 an unknown list, -625022 a
        list not released, a signature or line problem), or answered 120 then 399; after 399 the
        list's bill is voided (CEB818 status 3) and, when goods remain, issued again for them
        (CEB816, ``TAX{invtNo}R{n}``). The list stays released."""
        head_element = refund.find(ceb.ceb("InvtRefundHead"))
        head = ceb.fields(head_element) if head_element is not None else {}
        lines = [ceb.fields(line) for line in refund.iter(ceb.ceb("InvtRefundList"))]
        invt_no = head.get("invtNo", "")
        problem = self._refund_signature_failure(signature, head.get("agentCode", ""))
        with self._lock:
            record = self._by_invt_no.get(invt_no)
            if problem is None and record is None:
                problem = "-625016", f"-625016 查无此数据 (no list {invt_no})"
            elif problem is None and record is not None and record.status != "800":
                problem = "-625022", f"-625022 退货申请单[{invt_no}]的申报状态不符合申报的条件 (list not released)"
            elif problem is None and record is not None:
                problem = self._refund_problem(record, lines)
                if problem is None:  # taken: its quantities are no longer there to return
                    for line in lines:
                        gnum = int(line["gnum"])
                        record.returned[gnum] = record.returned.get(gnum, Decimal(0)) + _decimal(line["qty"])
        statuses = [problem[0]] if problem else ["120", "399"]
        pre_no = record.pre_no if record else (head.get("preNo") if len(head.get("preNo", "")) == 18 else "0" * 18)
        cop_no = head.get("copNo") or (record.head.get("copNo") if record else "") or invt_no[:20]

        def answer(status: str) -> Outgoing:
            values = {
                "guid": head.get("guid"),
                "customsCode": head.get("customsCode"),
                "agentCode": head.get("agentCode"),
                "ebpCode": head.get("ebpCode"),
                "ebcCode": head.get("ebcCode"),
                "copNo": cop_no,
                "preNo": pre_no,
                "invtNo": invt_no,
                "returnStatus": status,
                "returnTime": return_time(),
                "returnInfo": problem[1]
                if problem
                else {"120": "退货申请已入库", "399": "退货审结 (concluded)"}[status],
            }
            body = ceb.receipt("CEB626Message", new_guid(), [values])
            return Outgoing(body, new_webhook_id(), "CEB626Message", {"invtNo": invt_no, "returnStatus": status})

        steps: list[Callable[[], Outgoing | None]] = [functools.partial(answer, status) for status in statuses]
        if record is not None and not problem:
            reissue: list[dict[int, Decimal]] = []
            steps.append(lambda: self._void_bill(record, reissue))
            steps.append(
                lambda: (
                    self._tax_bill(record, tax_no=self._next_tax_no(record), remaining=reissue[0]) if reissue else None
                )
            )
        self._chain(steps)
        return {"invtNo": invt_no, "plan": " -> ".join(statuses)}

    def _next_tax_no(self, record: ListRecord) -> str:
        with self._lock:
            return f"TAX{record.invt_no}R{record.refunds}"

    def _bill_status(self, record: ListRecord, status: str, *, ent_duty_no: str = "") -> Outgoing | None:
        """A CEB818 of the bill in force: ``2`` summarised (with ``ent_duty_no``: paid), ``3`` void.
        None when the list has no bill in force (a list cancelled meanwhile)."""
        with self._lock:
            tax_no = record.tax_no
            if status == "3":
                record.tax_no = ""
        if not tax_no:
            return None
        values = {
            "guid": new_guid(),
            "returnTime": return_time(),
            "invtNo": record.invt_no,
            "taxNo": tax_no,
            "status": status,
            "entDutyNo": ent_duty_no or None,
            "assureCode": record.head.get("assureCode"),
        }
        body = ceb.tax_status(new_guid(), [values])
        summary = {"invtNo": record.invt_no, "taxNo": tax_no, "status": status, "entDutyNo": ent_duty_no}
        return Outgoing(body, new_webhook_id(), "CEB818Message", summary)

    def _void_bill(self, record: ListRecord, reissue: list[dict[int, Decimal]]) -> Outgoing:
        """The CEB818 voiding the bill in force; ``reissue`` receives what remains of each line
        when goods remain (the next step issues a bill for them)."""
        with self._lock:
            tax_no = record.tax_no or f"TAX{record.invt_no}"
            record.refunds += 1
            remaining = {
                int(item["gnum"]): _decimal(item.get("qty", "")) - record.returned.get(int(item["gnum"]), Decimal(0))
                for item in record.items
            }
        if any(qty > 0 for qty in remaining.values()):
            reissue.append(remaining)
        status = {
            "guid": new_guid(),
            "returnTime": return_time(),
            "invtNo": record.invt_no,
            "taxNo": tax_no,
            "status": "3",
            "assureCode": record.head.get("assureCode"),
        }
        body = ceb.tax_status(new_guid(), [status])
        return Outgoing(
            body, new_webhook_id(), "CEB818Message", {"invtNo": record.invt_no, "taxNo": tax_no, "status": "3"}
        )


# --- Customs' own checks of orders, payments and waybills -------------------------------------------


def _list_triggers(head: dict[str, str]) -> tuple[sandbox.Triggers, tuple[str, str] | None]:
    """The sandbox triggers at the end of a list's orderNo (``docs/sandbox.md``), and the refusal
    they ask for: REJECT with a negative code, or -621001 for a trigger it cannot read."""
    try:
        triggers = sandbox.parse(head.get("orderNo", ""))
    except sandbox.TriggerError as error:
        return sandbox.Triggers(), ("-621001", f"-621001 清单报文校验失败, sandbox trigger in orderNo: {error}")
    code = triggers.refusal()
    return triggers, ((code, f"{code} 清单申报失败 (sandbox trigger REJECT in orderNo)") if code else None)


def _document_signature_failure(
    head_name: str, head: dict[str, str], signature: ceb.SignatureCheck
) -> tuple[str, str] | None:
    """A document must be signed by its sender when declared (appStatus 2), spec section 3."""
    code = {"OrderHead": "-301008", "PaymentHead": "-401009", "LogisticsHead": "-504011"}[head_name]
    senders = {
        "OrderHead": {head.get("ebpCode", ""), head.get("ebcCode", "")},
        "PaymentHead": {head.get("payCode", "")},
        "LogisticsHead": {head.get("logisticsCode", "")},
    }[head_name]
    if signature.problem == "missing":
        if head.get("appStatus") == "2":
            return code, f"{code} 参数校验不通过, 签名信息为空 (appStatus 2 needs a signature)"
        return None
    if signature.problem:
        return code, f"{code} 参数校验不通过, {signature.info}"
    if not senders & signature.signers:
        return code, f"{code} 参数校验不通过, 签名企业与申报企业不一致 (signed by another enterprise)"
    return None


def _status_signature_failure(signature: ceb.SignatureCheck, logistics_code: str) -> tuple[str, str] | None:
    """A waybill's signed-for status must be signed by its logistics enterprise."""
    if signature.problem == "missing":
        return "-505011", "-505011 参数校验不通过, 签名信息为空 (a CEB513 must be signed)"
    if signature.problem:
        return "-505011", f"-505011 参数校验不通过, {signature.info}"
    if logistics_code not in signature.signers:
        return "-505011", "-505011 参数校验不通过, 签名企业与物流企业不一致 (signed by another enterprise)"
    return None


def _arrival_signature_failure(signature: ceb.SignatureCheck, operator_code: str) -> tuple[str, str] | None:
    """An arrival manifest must be signed by its site operator."""
    if signature.problem == "missing":
        return "-800001", "-800001 校验不通过, 签名信息为空"
    if signature.problem:
        return "-800001", f"-800001 校验不通过, {signature.info}"
    if operator_code not in signature.signers:
        return "-800001", "-800001 校验不通过, 签名企业与监管场所经营人不一致 (signed by another enterprise)"
    return None


def _order_problem(head: dict[str, str], items: list[dict[str, str]]) -> tuple[str, str] | None:
    goods = sum((_decimal(i.get("totalPrice", "")) for i in items), Decimal(0))
    paid = (
        _decimal(head.get("goodsValue", ""))
        + _decimal(head.get("freight", ""))
        + _decimal(head.get("taxTotal", ""))
        - _decimal(head.get("discount", ""))
    )
    if head.get("currency") != "142" or head.get("buyerIdType") != "1":
        return "100", "退单: currency must be 142 and buyerIdType 1"
    if tax.fen(goods) != tax.fen(_decimal(head.get("goodsValue", ""))):
        return "100", "退单: goodsValue is not the sum of the items' totalPrice"
    if tax.fen(paid) != tax.fen(_decimal(head.get("acturalPaid", ""))):
        return "100", "退单: acturalPaid is not goodsValue + freight + taxTotal - discount"
    return None


def _payment_problem(head: dict[str, str], items: list[dict[str, str]]) -> tuple[str, str] | None:
    if head.get("currency") != "142" or head.get("payerIdType") != "1":
        return "100", "退单: currency must be 142 and payerIdType 1"
    return None


def _waybill_problem(head: dict[str, str], items: list[dict[str, str]]) -> tuple[str, str] | None:
    if head.get("currency") != "142" or head.get("packNo") != "1":
        return "100", "退单: currency must be 142 and packNo 1"
    return None


def _document_return(head_name: str, head: dict[str, str], status: str, info: str) -> dict[str, object]:
    keys = {
        "OrderHead": ("ebpCode", "ebcCode", "orderNo"),
        "PaymentHead": ("payCode", "payTransactionId"),
        "LogisticsHead": ("logisticsCode", "logisticsNo"),
    }[head_name]
    return {
        "guid": head.get("guid"),
        **{key: head.get(key) for key in keys},
        "returnStatus": status,
        "returnTime": return_time(),
        "returnInfo": info,
    }


# --- Command line -------------------------------------------------------------------------------


def _flag(text: str) -> bool:
    if text.lower() in {"1", "true", "yes", "on"}:
        return True
    if text.lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{text!r} is not true or false")


def parse_config(argv: Sequence[str] | None = None) -> CustomsConfig:
    parser = argparse.ArgumentParser(prog="python -m simulators.customs", description=__doc__)
    opt = add_option
    opt(parser, ENV_PREFIX, "--host", default="127.0.0.1", help_text="address to listen on")
    opt(parser, ENV_PREFIX, "--port", default="8201", help_text="port to listen on", kind=int)
    opt(
        parser,
        ENV_PREFIX,
        "--callback-url",
        default="http://127.0.0.1:8000/api/v1/webhooks/customs",
        help_text="where receipts go",
    )
    opt(parser, ENV_PREFIX, "--secret", default=None, help_text="Standard Webhooks secret, whsec_<base64>")
    opt(
        parser,
        ENV_PREFIX,
        "--certificates",
        default=None,
        help_text="directory of <enterprise code>.pem certificates",
        kind=Path,
    )
    opt(parser, ENV_PREFIX, "--script", default="default", help_text=f"receipt script: {', '.join(SCRIPTS)}")
    opt(parser, ENV_PREFIX, "--step-delay", default="0.5", help_text="seconds between receipts", kind=float)
    opt(
        parser,
        ENV_PREFIX,
        "--inspection-rate",
        default="0.2",
        help_text="share of lists inspected (script inspection)",
        kind=float,
    )
    opt(parser, ENV_PREFIX, "--seed", default="0", help_text="seed of the simulator's random choices", kind=int)
    opt(
        parser,
        ENV_PREFIX,
        "--fail-rate",
        default=None,
        help_text="share of POST /ceb answered 503/500 (chaos: 0.1)",
        kind=float,
    )
    opt(parser, ENV_PREFIX, "--slow-ms", default="0", help_text="delay of every POST /ceb answer, ms", kind=int)
    opt(parser, ENV_PREFIX, "--callback-attempts", default="4", help_text="attempts per callback", kind=int)
    opt(
        parser,
        ENV_PREFIX,
        "--callback-backoff",
        default="0.5",
        help_text="first retry wait, seconds (doubles)",
        kind=float,
    )
    opt(parser, ENV_PREFIX, "--callback-timeout", default="5", help_text="callback timeout, seconds", kind=float)
    opt(parser, ENV_PREFIX, "--workers", default="32", help_text="callback worker threads", kind=int)
    opt(
        parser,
        ENV_PREFIX,
        "--max-lists",
        default="100",
        help_text="lists one CEB621 may hold; beyond, each is answered -621030",
        kind=int,
    )
    opt(
        parser,
        ENV_PREFIX,
        "--settle-tax",
        default="true",
        help_text="after each bill, send CEB818 summarised then paid (true/false)",
        kind=_flag,
    )
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret (or SIM_CUSTOMS_SECRET) is required")
    if args.script not in SCRIPTS:
        parser.error(f"--script must be one of {', '.join(SCRIPTS)}")
    return CustomsConfig(**vars(args))


def main(argv: Sequence[str] | None = None) -> None:
    configure_logging()
    CustomsSimulator(parse_config(argv)).serve()


if __name__ == "__main__":
    main()
