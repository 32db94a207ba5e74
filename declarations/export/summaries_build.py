"""Summary declarations (汇总申报, CEB701), the pure part: which released export lists go
together, the goods lines they add up to, how they split into messages, the CEB701 message
itself, and reading customs' answers (CEB702 summary number, CEB792 result).

Nothing here touches the database: lists arrive as ``ListFacts`` and the result is data, so
the rules are tested on their own.

Grouping (specification 2.21.4, table 2-73):

- ``summaryFlag`` 1 gathers a consignor's lists (收发货人, the list's ``ebcCode``) alone; 2
  gathers them by consignor and producer/seller (生产销售单位, the list's ``ownerCode``).
  Lists are kept apart by their declaring customs (``customsCode``) and declaring agent
  (``agentCode``, who signs the CEB701) as well.
- ``itemNameFlag`` 1 adds up goods of the same goods code and enterprise goods name (the list
  line's ``itemName``, "used as the rebate goods name after summarising"; its ``gname`` when
  empty); left empty, goods add up by composite category: the first 4 digits of the code.
- Figures never mix currencies or units: a line is also keyed by both.

Splitting: the specification numbers the messages of one summary (``msgCount``,
``msgSeqNo`` from 1 without gaps) but states no number of lists per message, and the schema
leaves ``SummaryApplyList`` unbounded; ``EXPORT_SUMMARY_MAX_LISTS`` (default 100, the limit
the schema puts on every other repeated document here) caps the lists of one message.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from lxml import etree

from core.times import ceb_time
from declarations.customs import xml
from declarations.export.summaries_xml import q, sub, text

CEB701 = "CEB701Message"
CEB702 = "CEB702Message"
CEB792 = "CEB792Message"
DEFAULT_MAX_LISTS = 100
ZERO = Decimal(0)


class SummaryFlag(StrEnum):
    CONSIGNOR = "1"
    CONSIGNOR_AND_PRODUCER = "2"


@dataclass(frozen=True)
class ItemFacts:
    """One line of an export list, as the summary reads it."""

    gnum: int
    gcode: str
    gname: str
    item_name: str
    currency: str
    unit: str
    qty: Decimal
    total_price: Decimal


@dataclass(frozen=True)
class ListFacts:
    """A released export list, as the summary reads it."""

    list_id: int
    invt_no: str
    customs_code: str
    ebc_code: str
    ebc_name: str
    owner_code: str
    owner_name: str
    agent_code: str
    agent_name: str
    loct_no: str
    gross_weight: Decimal
    net_weight: Decimal
    items: tuple[ItemFacts, ...]


@dataclass(frozen=True, order=True)
class GroupKey:
    """What one summary application has in common: ``owner_code`` is empty under flag 1."""

    customs_code: str
    ebc_code: str
    owner_code: str
    agent_code: str


@dataclass(frozen=True, order=True)
class LineKey:
    """A goods line: a 10-digit code and goods name (flag 1) or a 4-digit category (empty
    name), in one currency and unit."""

    code: str
    name: str
    currency: str
    unit: str


@dataclass
class SummaryLine:
    key: LineKey
    qty: Decimal = ZERO
    total_price: Decimal = ZERO
    list_ids: set[int] = field(default_factory=set)
    item_count: int = 0


@dataclass(frozen=True)
class Grouping:
    summary_flag: SummaryFlag
    by_item_name: bool

    @property
    def item_name_flag(self) -> str:
        # The schema wants one character; "0" stands for the spec's "left empty" (by category).
        return "1" if self.by_item_name else "0"


def group_key(facts: ListFacts, flag: SummaryFlag) -> GroupKey:
    owner = facts.owner_code if flag is SummaryFlag.CONSIGNOR_AND_PRODUCER else ""
    return GroupKey(facts.customs_code, facts.ebc_code, owner, facts.agent_code)


def group_lists(lists: Iterable[ListFacts], flag: SummaryFlag) -> dict[GroupKey, list[ListFacts]]:
    """The lists of each summary application, groups and lists in a stable order (invtNo)."""
    groups: dict[GroupKey, list[ListFacts]] = {}
    for facts in lists:
        groups.setdefault(group_key(facts, flag), []).append(facts)
    return {key: sorted(groups[key], key=lambda f: (f.invt_no, f.list_id)) for key in sorted(groups)}


def line_key(item: ItemFacts, *, by_item_name: bool) -> LineKey:
    if by_item_name:
        return LineKey(item.gcode, (item.item_name or item.gname).strip(), item.currency, item.unit)
    return LineKey(item.gcode[:4], "", item.currency, item.unit)


def summary_lines(lists: Iterable[ListFacts], *, by_item_name: bool) -> list[SummaryLine]:
    """The goods lines of a summary: quantities and values added exactly (``Decimal``), so each
    line is the sum of the list lines behind it; in key order."""
    lines: dict[LineKey, SummaryLine] = {}
    for facts in lists:
        for item in facts.items:
            key = line_key(item, by_item_name=by_item_name)
            line = lines.setdefault(key, SummaryLine(key))
            line.qty += item.qty
            line.total_price += item.total_price
            line.list_ids.add(facts.list_id)
            line.item_count += 1
    return [lines[key] for key in sorted(lines)]


def weights(lists: Iterable[ListFacts]) -> tuple[Decimal, Decimal]:
    gross = net = ZERO
    for facts in lists:
        gross += facts.gross_weight
        net += facts.net_weight
    return gross, net


def split(invt_nos: Sequence[str], max_lists: int) -> list[list[str]]:
    """The lists of each message, in order; at least one message, each of 1..max_lists lists."""
    size = max(1, max_lists)
    return [list(invt_nos[start : start + size]) for start in range(0, len(invt_nos), size)] or [[]]


# --- CEB701 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyHead:
    """The head every message of one summary application repeats (table 2-73)."""

    guid: str
    app_time: datetime.datetime
    customs_code: str
    cop_no: str
    agent_code: str
    agent_name: str
    ebc_code: str
    ebc_name: str
    decl_agent_code: str
    decl_agent_name: str
    loct_no: str
    grouping: Grouping
    sum_no: str = ""
    note: str = ""
    app_type: str = "1"


@dataclass(frozen=True)
class Transfer:
    """BaseTransfer: the enterprise the message is signed for."""

    cop_code: str
    cop_name: str
    dxp_id: str
    dxp_mode: str = "DXP"


def message_guid(head_guid: str, msg_seq_no: int) -> str:
    """Each message of a summary has a head guid of its own (customs' CEB702 names it): the
    summary's guid with its last 4 hexadecimal digits replaced by the message number, so one
    summary's messages are seen together and every retry builds the same message."""
    return f"{head_guid[:32]}{msg_seq_no:04X}"


def apply_message(
    *, head: ApplyHead, invt_nos: Sequence[str], msg_count: int, msg_seq_no: int, transfer: Transfer
) -> etree._Element:
    """One unsigned CEB701: a SummaryApply (head, then one SummaryApplyList per list) and the
    BaseTransfer; elements in the schema's order."""
    root = etree.Element(q(CEB701), nsmap={"ceb": xml.CEB_NS})
    root.set("guid", xml.new_guid())
    root.set("version", xml.MESSAGE_VERSION)
    apply = etree.SubElement(root, q("SummaryApply"))
    element = etree.SubElement(apply, q("SummaryApplyHead"))
    values: list[tuple[str, str]] = [
        ("guid", message_guid(head.guid, msg_seq_no)),
        ("appType", head.app_type),
        ("appTime", ceb_time(head.app_time)),
        ("appStatus", "2"),
        ("customsCode", head.customs_code),
        ("copNo", head.cop_no),
        ("sumNo", head.sum_no),
        ("agentCode", head.agent_code),
        ("agentName", head.agent_name[:100]),
        ("ebcCode", head.ebc_code),
        ("ebcName", head.ebc_name[:100]),
        ("declAgentCode", head.decl_agent_code),
        ("declAgentName", head.decl_agent_name[:100]),
        ("loctNo", head.loct_no),
        ("summaryFlag", head.grouping.summary_flag.value),
        ("itemNameFlag", head.grouping.item_name_flag),
        ("msgCount", str(msg_count)),
        ("msgSeqNo", str(msg_seq_no)),
        ("note", head.note[:1000]),
    ]
    optional = {"sumNo", "loctNo", "note"}
    for name, value in values:
        if value or name not in optional:
            sub(element, name, value)
    for invt_no in invt_nos:
        sub(etree.SubElement(apply, q("SummaryApplyList")), "invtNo", invt_no)
    transfer_element = etree.SubElement(root, q("BaseTransfer"))
    sub(transfer_element, "copCode", transfer.cop_code)
    sub(transfer_element, "copName", transfer.cop_name[:100])
    sub(transfer_element, "dxpMode", transfer.dxp_mode)
    sub(transfer_element, "dxpId", transfer.dxp_id)
    return root


# --- CEB702 and CEB792 -------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryReturnFacts:
    """One SummaryReturn of a CEB702 (table 2-77)."""

    agent_code: str
    ebc_code: str
    cop_no: str
    pre_no: str
    sum_no: str
    msg_seq_no: int
    return_status: str
    return_time: str
    return_info: str


@dataclass(frozen=True)
class ResultListFacts:
    invt_no: str
    logistics_no: str
    gseqno: int
    gnum: int
    gcode: str


@dataclass(frozen=True)
class SummaryResultFacts:
    """One SummaryResult of a CEB792 (table 2-80): the summary's customs declaration."""

    customs_code: str
    sum_no: str
    op_date: str
    decl_seq_no: str
    entry_id: str
    dec_state: str
    agent_code: str
    ebc_code: str
    gross_weight: Decimal
    net_weight: Decimal
    msg_count: int
    msg_seq_no: int
    lists: tuple[ResultListFacts, ...]


def _int(value: str) -> int:
    return int(value) if value.strip().lstrip("-").isdigit() else 0


def summary_returns(root: etree._Element) -> list[SummaryReturnFacts]:
    return [
        SummaryReturnFacts(
            agent_code=text(element, "agentCode"),
            ebc_code=text(element, "ebcCode"),
            cop_no=text(element, "copNo"),
            pre_no=text(element, "preNo"),
            sum_no=text(element, "sumNo"),
            msg_seq_no=_int(text(element, "msgSeqNo")),
            return_status=text(element, "returnStatus"),
            return_time=text(element, "returnTime"),
            return_info=text(element, "returnInfo"),
        )
        for element in root.iterchildren(q("SummaryReturn"))
    ]


def summary_results(root: etree._Element) -> list[SummaryResultFacts]:
    results = []
    for element in root.iterchildren(q("SummaryResult")):
        head = element.find(q("SummaryResultHead"))
        if head is None:
            continue
        lists = tuple(
            ResultListFacts(
                invt_no=text(line, "invtNo"),
                logistics_no=text(line, "logisticsNo"),
                gseqno=_int(text(line, "gseqno")),
                gnum=_int(text(line, "gnum")),
                gcode=text(line, "gcode"),
            )
            for line in element.iterchildren(q("SummaryResultList"))
        )
        results.append(
            SummaryResultFacts(
                customs_code=text(head, "customsCode"),
                sum_no=text(head, "sumNo"),
                op_date=text(head, "opDate"),
                decl_seq_no=text(head, "declSeqNo"),
                entry_id=text(head, "entryId"),
                dec_state=text(head, "decState"),
                agent_code=text(head, "agentCode"),
                ebc_code=text(head, "ebcCode"),
                gross_weight=Decimal(text(head, "grossWeight") or "0"),
                net_weight=Decimal(text(head, "netWeight") or "0"),
                msg_count=_int(text(head, "msgCount")),
                msg_seq_no=_int(text(head, "msgSeqNo")),
                lists=lists,
            )
        )
    return results
