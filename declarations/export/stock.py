"""A special-zone (1210) export list draws its goods from the zone warehouse's account book.

The account book is logistics' (``logistics.stock``, docs/logistics-stock.md): the export list is
handed over as facts (``single_window.declare.ListFacts``) under its own key
(``ListRef(kind="export")``), never as a row of this app.

- The declare step reserves the list's quantities on the book named by its ``ems_no`` and kept
  by its zone warehouse enterprise (``iac_code``), every line by its ``item_record_no``, all or
  none. A book or item not kept, a unit the book does not keep the item in, or too little
  available fails the list (``export_stock_short``, with logistics' reason); the agent declares
  it again once the warehouse has the goods.
- Customs' release (800) takes the goods out of the warehouse (``on_hand`` and ``reserved`` go
  down); a list that will not leave under this version (rejected, not sent, deleted) gives its
  reservation back, and a cancelled one brings its goods back on hand.
"""

from __future__ import annotations

from django.utils import timezone

from declarations.models import ExportList, ExportListStatus, ExportTradeMode
from logistics import stock as zone_stock
from single_window.declare import Decision, ItemFacts, ListFacts, ListRef, Verdict

EXPORT = "export"
# The states in which a reservation is given back (a cancelled list's goods come back on hand).
RELEASING = frozenset(
    {ExportListStatus.REJECTED, ExportListStatus.SEND_FAILED, ExportListStatus.CANCELLED, ExportListStatus.DELETED}
)


def ref_of(export_list: ExportList) -> ListRef:
    return ListRef(inventory_id=export_list.pk, version=export_list.version, kind=EXPORT)


def facts_of(export_list: ExportList) -> ListFacts:
    """What logistics may know of the list: its keys, parties, book and lines (no personal data)."""
    items = tuple(
        ItemFacts(
            gnum=line.gnum,
            gcode=line.gcode,
            item_record_no=line.item_record_no,
            item_name=line.item_name or line.gname,
            qty=line.qty,
            unit=line.unit,
            qty1=line.qty1,
            unit1=line.unit1,
            qty2=line.qty2,
            unit2=line.unit2,
            price=line.price,
            total_price=line.total_price,
            currency=line.currency,
            country=line.country,
        )
        for line in export_list.items.order_by("gnum")
    )
    return ListFacts(
        ref=ref_of(export_list),
        cop_no=export_list.cop_no,
        trade_mode=export_list.trade_mode,
        ebp_code=export_list.ebp_code,
        ebc_code=export_list.ebc_code,
        agent_code=export_list.agent_code,
        assure_code="",
        logistics_code=export_list.logistics_code,
        area_code=export_list.iac_code,
        ems_no=export_list.ems_no,
        customs_code=export_list.customs_code,
        port_code=export_list.port_code,
        park_code="",
        buyer_hash="",
        consignee_phone_hash="",
        consignee_address_hash="",
        gross_weight=export_list.gross_weight,
        net_weight=export_list.net_weight,
        freight=export_list.freight,
        insured_fee=export_list.insured_fee,
        items=items,
        tax=None,
        declared_at=timezone.now(),
    )


def draw_down(*, export_list: ExportList) -> str:
    """Reserve a 1210 list's goods on its account book; "" when reserved (or not a 1210 list),
    else why not (logistics' reason code and message)."""
    if export_list.trade_mode != ExportTradeMode.SPECIAL_ZONE:
        return ""
    decision: Decision = zone_stock.list_reserve(facts=facts_of(export_list))
    if decision.verdict == Verdict.PASS:
        return ""
    return "; ".join(f"{reason.code}: {reason.message}" for reason in decision.reasons) or str(decision.verdict)


def after_move(*, export_list: ExportList, to_status: str) -> None:
    """The stock's part of a move of a 1210 list: released, its goods leave the warehouse; one of
    ``RELEASING``, its reservation is given back."""
    if export_list.trade_mode != ExportTradeMode.SPECIAL_ZONE:
        return
    if to_status == ExportListStatus.RELEASED:
        zone_stock.list_consume(ref=ref_of(export_list))
    elif to_status in RELEASING:
        zone_stock.list_release(ref=ref_of(export_list), outcome=str(to_status))
