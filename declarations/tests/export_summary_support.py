"""Export lists as customs released them, made straight in the database, and customs' answers
about summaries and returns (CEB702, CEB792, CEB214, CEB216) written by hand."""

from __future__ import annotations

import datetime
import itertools
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone
from lxml import etree

from declarations.customs import xml
from declarations.models import ExportList, ExportListItem, ExportListStatus
from single_window import tasks
from single_window.models import Enterprise, InboxMessage
from tests.partner_webhooks import SigningPartner, new_message_id, post_webhook, signed_headers

Q = f"{{{xml.CEB_NS}}}"
_numbers = itertools.count(1)


def make_list(
    *,
    ebc: Enterprise,
    agent: Enterprise,
    items: Sequence[tuple[str, str, str, str]] = (("6109100010", "棉T恤", "2", "19.90"),),
    ie_date: datetime.date = datetime.date(2026, 11, 15),
    status: str = ExportListStatus.RELEASED,
    statistics_flag: str = "B",
    owner_code: str = "3301969999",
    trade_mode: str = "9610",
    currency: str = "502",
    customs_code: str = "2901",
) -> ExportList:
    """A list of ``items`` (gcode, item name, qty, total price); ``released`` with an invtNo."""
    n = next(_numbers)
    export_list = ExportList.objects.create(
        sender=agent,
        guid=str(uuid.uuid4()).upper(),
        app_type="1",
        app_time=timezone.now(),
        app_status="2",
        status=status,
        customs_code=customs_code,
        ebp_code="3301960001",
        ebp_name="示例平台",
        order_no=f"EXP-ORDER-{n:06d}",
        logistics_code="3301960004",
        logistics_name="示例物流",
        logistics_no=f"EXPLN{n:09d}",
        cop_no=f"EXPCOP{n:09d}",
        invt_no=f"29012026E{n:09d}" if status != ExportListStatus.DECLARED else "",
        port_code="2901",
        ie_date=ie_date,
        statistics_flag=statistics_flag,
        agent_code=agent.code,
        agent_name=agent.name,
        ebc_code=ebc.code,
        ebc_name=ebc.name,
        owner_code=owner_code,
        owner_name="示例生产企业",
        iac_code="3301960006" if trade_mode == "1210" else "",
        ems_no="T2901W000001" if trade_mode == "1210" else "",
        trade_mode=trade_mode,
        traf_mode="5",
        country="502",
        pod="USA",
        freight=Decimal(10),
        f_currency=currency,
        insured_fee=Decimal(0),
        i_currency=currency,
        wrap_type="2",
        pack_no=1,
        gross_weight=Decimal("1.25"),
        net_weight=Decimal("1.00"),
    )
    ExportListItem.objects.bulk_create(
        ExportListItem(
            export_list=export_list,
            gnum=gnum,
            item_no=f"SKU{gnum}",
            item_name=name,
            gcode=gcode,
            gname=name,
            gmodel="M码",
            bar_code="无",
            country="502",
            currency=currency,
            qty=Decimal(qty),
            qty1=Decimal(qty) / 10,
            unit="007",
            unit1="035",
            price=Decimal(total) / Decimal(qty),
            total_price=Decimal(total),
        )
        for gnum, (gcode, name, qty, total) in enumerate(items, start=1)
    )
    return export_list


def message(root_name: str) -> etree._Element:
    return etree.Element(
        f"{Q}{root_name}", {"guid": str(uuid.uuid4()).upper(), "version": "1.0"}, nsmap={"ceb": xml.CEB_NS}
    )


def fill(parent: etree._Element, values: Sequence[tuple[str, Any]]) -> None:
    for name, value in values:
        if value not in (None, ""):
            etree.SubElement(parent, f"{Q}{name}").text = str(value)


def body_of(root: etree._Element) -> bytes:
    expected = etree.QName(root).localname
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    xml.read_message(data, expected_message=expected)  # valid against the export schema
    return data


def ceb702(
    *, agent_code: str, ebc_code: str, cop_no: str, seq: int, status: str, sum_no: str = "", at: str = "20261201011005"
) -> bytes:
    root = message("CEB702Message")
    fill(
        etree.SubElement(root, f"{Q}SummaryReturn"),
        (
            ("guid", str(uuid.uuid4()).upper()),
            ("agentCode", agent_code),
            ("ebcCode", ebc_code),
            ("copNo", cop_no),
            ("preNo", "B20261201000000001"),
            ("sumNo", sum_no),
            ("msgSeqNo", seq),
            ("returnStatus", status),
            ("returnTime", at + "000"),
            ("returnInfo", f"汇总申请 {status}"),
        ),
    )
    return body_of(root)


def ceb792(*, sum_no: str, agent_code: str, ebc_code: str, dec_state: str = "P") -> bytes:
    root = message("CEB792Message")
    head = etree.SubElement(etree.SubElement(root, f"{Q}SummaryResult"), f"{Q}SummaryResultHead")
    fill(
        head,
        (
            ("guid", str(uuid.uuid4()).upper()),
            ("customsCode", "2901"),
            ("sumNo", sum_no),
            ("opDate", "20261201020000000"),
            ("declSeqNo", "29012026D000000001"),
            ("entryId", "290120260000000777"),
            ("decState", dec_state),
            ("agentCode", agent_code),
            ("agentName", "agent"),
            ("ebcCode", ebc_code),
            ("ebcName", "ebc"),
            ("declAgentCode", agent_code),
            ("declAgentName", "agent"),
            ("grossWeight", "2.5"),
            ("netWeight", "2"),
            ("msgCount", "1"),
            ("msgSeqNo", "1"),
        ),
    )
    return body_of(root)


def ceb214(*, agent_code: str, cop_no: str, invt_no: str, status: str, at: str = "20261205093100") -> bytes:
    root = message("CEB214Message")
    fill(
        etree.SubElement(root, f"{Q}RefundReturn"),
        (
            ("guid", str(uuid.uuid4()).upper()),
            ("agentCode", agent_code),
            ("coElNo", cop_no),
            ("invtNo", invt_no),
            ("returnStatus", status),
            ("returnTime", at + "000"),
            ("returnInfo", f"退货申请 {status}"),
        ),
    )
    return body_of(root)


def ceb216(*, operator_code: str, logistics_code: str, logistics_no: str, cop_no: str, status: str) -> bytes:
    root = message("CEB216Message")
    fill(
        etree.SubElement(root, f"{Q}InvtRefundDetailReturn"),
        (
            ("guid", str(uuid.uuid4()).upper()),
            ("operatorCode", operator_code),
            ("logisticsCode", logistics_code),
            ("logisticsNo", logistics_no),
            ("coElNo", cop_no),
            ("returnStatus", status),
            ("returnTime", "20261206080100000"),
            ("returnInfo", f"理货 {status}"),
        ),
    )
    return body_of(root)


def deliver(customs: SigningPartner, body: bytes) -> InboxMessage:
    """Customs posts ``body`` to the webhook; the inbox applies it."""
    message_id = new_message_id()
    response = post_webhook(body, signed_headers(customs.secret, body, message_id=message_id))
    assert response.status_code in {200, 202}, response.content
    inbox = InboxMessage.objects.get(partner=customs.partner, message_id=message_id)
    tasks.apply_inbox_message(inbox_message_id=inbox.pk)
    inbox.refresh_from_db()
    return inbox
