"""Customs' tax messages as they reach the hub's inbox: CEB816 (tax bills) and CEB818 (their
status changes), read into finance's facts and applied (``finance.bills``).

The hub authenticated the sender (only the customs partner may send them). The body is read
with a parser that resolves no entity, loads no DTD and reaches no network; each field
finance uses is checked (required, numeric, a time), and a message that fails is refused
whole with the reason kept on the inbox row.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from core.times import parse_ceb_time
from finance import bills
from single_window.inbox import InboxRejected, register_handler
from single_window.models import InboxMessage, PartnerKind

CEB_NS = "http://www.chinaport.gov.cn/ceb"
TAX_BILL = "CEB816Message"
TAX_STATUS = "CEB818Message"
MAX_BYTES = 10 * 1024 * 1024


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def _root(body: bytes, name: str) -> etree._Element:
    if len(body) > MAX_BYTES:
        raise InboxRejected(f"{name} larger than {MAX_BYTES} bytes")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise InboxRejected(f"{name} is not well-formed XML: {exc}") from exc
    if root.tag != f"{{{CEB_NS}}}{name}":
        raise InboxRejected(f"expected {name}, got {root.tag}")
    return root


def _text(element: etree._Element, name: str, *, required: bool = False) -> str:
    value = (element.findtext(f"{{{CEB_NS}}}{name}") or "").strip()
    if required and not value:
        raise InboxRejected(f"{name} is missing")
    return value


def _amount(element: etree._Element, name: str) -> Decimal:
    text = _text(element, name, required=True)
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise InboxRejected(f"{name} {text!r} is not a number") from exc
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -5:  # type: ignore[operator]
        raise InboxRejected(f"{name} {text!r} is not a non-negative amount of at most 5 decimals")
    return value


def _time(element: etree._Element, name: str) -> datetime.datetime:
    text = _text(element, name, required=True)
    try:
        moment = parse_ceb_time(text[:14])
    except ValueError as exc:
        raise InboxRejected(f"{name} {text!r} is not YYYYMMDDhhmmss[SSS]") from exc
    millis = text[14:17]
    return moment + datetime.timedelta(milliseconds=int(millis)) if millis.isdigit() else moment


def _int(element: etree._Element, name: str) -> int:
    text = _text(element, name, required=True)
    if not text.isdigit():
        raise InboxRejected(f"{name} {text!r} is not a whole number")
    return int(text)


def read_tax_bills(body: bytes, *, fallback_guid: str) -> list[bills.BillFacts]:
    root = _root(body, TAX_BILL)
    guid = root.get("guid") or fallback_guid
    found = []
    for tax in root.iterchildren(f"{{{CEB_NS}}}Tax"):
        head = tax.find(f"{{{CEB_NS}}}TaxHeadRd")
        if head is None:
            raise InboxRejected("a Tax without TaxHeadRd")
        items = tuple(
            bills.BillItemFacts(
                gnum=_int(line, "gnum"),
                gcode=_text(line, "gcode", required=True)[:10],
                tax_price=_amount(line, "taxPrice"),
                customs_tax=_amount(line, "customsTax"),
                value_added_tax=_amount(line, "valueAddedTax"),
                consumption_tax=_amount(line, "consumptionTax"),
            )
            for line in tax.iterchildren(f"{{{CEB_NS}}}TaxListRd")
        )
        if len({item.gnum for item in items}) != len(items):
            raise InboxRejected(f"{_text(head, 'taxNo')}: an item number appears twice")
        found.append(
            bills.BillFacts(
                message_guid=guid,
                tax_no=_text(head, "taxNo", required=True)[:50],
                invt_no=_text(head, "invtNo", required=True)[:18],
                status=_text(head, "status", required=True)[:1],
                ent_duty_no=_text(head, "entDutyNo")[:50],
                customs_tax=_amount(head, "customsTax"),
                value_added_tax=_amount(head, "valueAddedTax"),
                consumption_tax=_amount(head, "consumptionTax"),
                issued_at=_time(head, "returnTime"),
                note=_text(head, "note"),
                assure_code=_text(head, "assureCode")[:64],
                ebc_code=_text(head, "ebcCode")[:64],
                logistics_code=_text(head, "logisticsCode")[:64],
                agent_code=_text(head, "agentCode")[:18],
                customs_code=_text(head, "customsCode")[:4],
                order_no=_text(head, "orderNo")[:60],
                logistics_no=_text(head, "logisticNo")[:60],
                items=items,
            )
        )
    return found


def read_tax_statuses(body: bytes, *, fallback_guid: str) -> list[bills.StatusFacts]:
    root = _root(body, TAX_STATUS)
    guid = root.get("guid") or fallback_guid
    found = []
    for position, element in enumerate(root.iter(f"{{{CEB_NS}}}TaxHeadStatus")):
        found.append(
            bills.StatusFacts(
                message_guid=f"{guid}#{position}",
                tax_no=_text(element, "taxNo", required=True)[:50],
                invt_no=_text(element, "invtNo", required=True)[:18],
                status=_text(element, "status", required=True)[:1],
                ent_duty_no=_text(element, "entDutyNo")[:50],
                occurred_at=_time(element, "returnTime"),
                assure_code=_text(element, "assureCode")[:64],
            )
        )
    return found


def apply_tax_bills(message: InboxMessage, body: bytes) -> str:
    found = read_tax_bills(body, fallback_guid=message.message_id)
    return "; ".join(bills.bill_receive(facts=facts) for facts in found) or "no Tax"


def apply_tax_statuses(message: InboxMessage, body: bytes) -> str:
    found = read_tax_statuses(body, fallback_guid=message.message_id)
    return "; ".join(bills.status_receive(facts=facts) for facts in found) or "no TaxHeadStatus"


def register() -> None:
    """Called once, from ``FinanceConfig.ready``: tax bills come from customs alone."""
    customs = (PartnerKind.CUSTOMS,)
    register_handler(TAX_BILL, apply_tax_bills, partner_kinds=customs)
    register_handler(TAX_STATUS, apply_tax_statuses, partner_kinds=customs)
