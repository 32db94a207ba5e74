"""One export parcel's documents written straight to the database, for the regulators' pages:
an order, its payment receipt and waybill, the arrival at the site, the export list (declared,
with a line, a customs receipt in its history and a cancellation request), the master bill and
the departure carrying it, and a return of its goods with the site's tally.

``export_parcel`` names every party by the enterprises given, so a test decides in which park
(and, by ``customs_code``, which district) the parcel lies.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from declarations.models import (
    DocumentStatus,
    ExportArrival,
    ExportArrivalItem,
    ExportDeparture,
    ExportDepartureItem,
    ExportList,
    ExportListCancellation,
    ExportListItem,
    ExportListStatus,
    ExportListStatusChange,
    ExportMasterBill,
    ExportMasterBillItem,
    ExportOrder,
    ExportOrderItem,
    ExportPaymentReceipt,
    ExportWaybill,
)
from declarations.models.export_returns import ExportReturn, ExportReturnItem, ExportReturnTally
from single_window.models import Enterprise

SELLER_TELEPHONE = "13912345678"


@dataclass(frozen=True)
class ExportParcel:
    order: ExportOrder
    receipt: ExportPaymentReceipt
    waybill: ExportWaybill
    arrival: ExportArrival
    export_list: ExportList
    cancellation: ExportListCancellation
    master_bill: ExportMasterBill
    departure: ExportDeparture
    export_return: ExportReturn
    tally: ExportReturnTally


def _guid() -> str:
    return str(uuid.uuid4()).upper()


def _head(sender: Enterprise) -> dict[str, object]:
    return {
        "sender": sender,
        "guid": _guid(),
        "app_type": "1",
        "app_time": timezone.now(),
        "app_status": "2",
        "status": DocumentStatus.DECLARED,
    }


def export_parcel(
    *,
    ebp: Enterprise,
    ebc: Enterprise,
    pay: Enterprise,
    logistics: Enterprise,
    agent: Enterprise,
    operator: Enterprise,
    customs_code: str,
    suffix: str,
) -> ExportParcel:
    order_no, logistics_no, invt_no = f"EXA{suffix}", f"EXWB{suffix}", f"2901202600000{suffix}"[-18:]
    money = {"freight": Decimal("12.00"), "currency": "502"}
    order = ExportOrder.objects.create(
        **_head(ebp),
        order_type="E",
        order_no=order_no,
        ebp_code=ebp.code,
        ebp_name=ebp.name,
        ebc_code=ebc.code,
        ebc_name=ebc.name,
        goods_value=Decimal("59.80"),
        **money,
    )
    ExportOrderItem.objects.create(
        order=order,
        gnum=1,
        item_no="SKU-TEA-001",
        item_name="龙井茶 Longjing tea 250g",
        unit="007",
        currency="502",
        qty=Decimal(2),
        price=Decimal("29.90"),
        total_price=Decimal("59.80"),
    )
    receipt = ExportPaymentReceipt.objects.create(
        **_head(pay),
        ebp_code=ebp.code,
        ebp_name=ebp.name,
        ebc_code=ebc.code,
        ebc_name=ebc.name,
        order_no=order_no,
        pay_code=pay.code,
        pay_name=pay.name,
        pay_no=f"PAYEX{suffix}",
        charge=Decimal("71.80"),
        currency="502",
        accounting_date=timezone.now(),
    )
    waybill = ExportWaybill.objects.create(
        **_head(logistics),
        logistics_code=logistics.code,
        logistics_name=logistics.name,
        logistics_no=logistics_no,
        insured_fee=Decimal(0),
        gross_weight=Decimal("0.6"),
        pack_no=1,
        goods_info="tea",
        ebc_code=ebc.code,
        ebc_name=ebc.name,
        ebc_telephone=SELLER_TELEPHONE,
        **money,
    )
    transport = {"traf_mode": "5", "logistics_code": logistics.code, "logistics_name": logistics.name}
    arrival = ExportArrival.objects.create(
        **_head(operator),
        customs_code=customs_code,
        cop_no=f"ARR{suffix}",
        operator_code=operator.code,
        operator_name=operator.name,
        domestic_traf_no="浙A12345",
        **transport,
    )
    ExportArrivalItem.objects.create(arrival=arrival, gnum=1, logistics_no=logistics_no)
    export_list = ExportList.objects.create(
        **{**_head(agent), "status": ExportListStatus.ACCEPTED},
        customs_code=customs_code,
        port_code=customs_code,
        ebp_code=ebp.code,
        ebp_name=ebp.name,
        order_no=order_no,
        logistics_no=logistics_no,
        cop_no=f"EXCOP{suffix}",
        invt_no=invt_no,
        ie_date=datetime.date(2026, 12, 3),
        statistics_flag="A",
        agent_code=agent.code,
        agent_name=agent.name,
        ebc_code=ebc.code,
        ebc_name=ebc.name,
        owner_code=ebc.code,
        owner_name=ebc.name,
        trade_mode="9610",
        country="601",
        pod="6011",
        freight=Decimal("12.00"),
        f_currency="502",
        insured_fee=Decimal(0),
        i_currency="502",
        wrap_type="2",
        pack_no=1,
        gross_weight=Decimal("0.6"),
        net_weight=Decimal("0.5"),
        **transport,
    )
    ExportListItem.objects.create(
        export_list=export_list,
        gnum=1,
        item_no="SKU-TEA-001",
        gcode="0902109000",
        gname="龙井茶",
        gmodel="250g/罐",
        bar_code="6901234567892",
        country="142",
        currency="502",
        qty=Decimal(2),
        qty1=Decimal("0.5"),
        unit="007",
        unit1="035",
        price=Decimal("29.90"),
        total_price=Decimal("59.80"),
    )
    ExportListStatusChange.objects.create(
        export_list=export_list,
        from_status=ExportListStatus.DECLARED,
        to_status=ExportListStatus.ACCEPTED,
        source="customs_receipt",
        receipt_code="120",
        receipt_time=timezone.now(),
    )
    cancellation = ExportListCancellation.objects.create(
        export_list=export_list, requested_by=agent, guid=_guid(), cop_no=f"CAN{suffix}", reason="the buyer cancelled"
    )
    voyage = {"traf_name": "CA1234", "voyage_no": "20261203", "bill_no": f"784-{suffix}"}
    master_bill = ExportMasterBill.objects.create(
        **_head(agent),
        customs_code=customs_code,
        cop_no=f"MB{suffix}",
        agent_code=agent.code,
        agent_name=agent.name,
        gross_weight=Decimal("0.6"),
        **transport,
        **voyage,
    )
    ExportMasterBillItem.objects.create(master_bill=master_bill, gnum=1, logistics_no=logistics_no, invt_no=invt_no)
    departure = ExportDeparture.objects.create(
        **_head(logistics), customs_code=customs_code, cop_no=f"DEP{suffix}", leave_time=timezone.now(), **transport
    )
    ExportDepartureItem.objects.create(departure=departure, gnum=1, logistics_no=logistics_no)
    export_return = ExportReturn.objects.create(
        export_list=export_list,
        requested_by=agent,
        guid=_guid(),
        app_time=timezone.now(),
        cop_no=f"RET{suffix}",
        customs_code=customs_code,
        ebp_code=ebp.code,
        ebp_name=ebp.name,
        ebc_code=ebc.code,
        ebc_name=ebc.name,
        logistics_no=logistics_no,
        invt_no=invt_no,
        trade_mode="9661",
        agent_code=agent.code,
        agent_name=agent.name,
        port_code=customs_code,
        reason="the buyer sent it back",
        country="601",
        **transport,
        **voyage,
    )
    ExportReturnItem.objects.create(
        export_return=export_return,
        gnum=1,
        gcode="0902109000",
        gname="龙井茶",
        gmodel="250g/罐",
        qty=Decimal(1),
        unit="007",
        qty1=Decimal("0.25"),
        unit1="035",
    )
    tally = ExportReturnTally.objects.create(
        export_return=export_return,
        requested_by=operator,
        guid=_guid(),
        app_time=timezone.now(),
        cop_no=f"TAL{suffix}",
        customs_code=customs_code,
        operator_code=operator.code,
        operator_name=operator.name,
        logistics_no=logistics_no,
        invt_no=invt_no,
        **transport,
        **voyage,
    )
    return ExportParcel(
        order=order,
        receipt=receipt,
        waybill=waybill,
        arrival=arrival,
        export_list=export_list,
        cancellation=cancellation,
        master_bill=master_bill,
        departure=departure,
        export_return=export_return,
        tally=tally,
    )
