"""One B2C (9610) export parcel's documents, valid against the demo registry
(``manage.py load_demo``): platform 3301960001, seller 3301960002, payment company 3301960003,
carrier 3301960004, declaring agent 3301960005, supervised-site operator 3301960006. They are
the OpenAPI examples and the tests' starting point (``document``)."""

from __future__ import annotations

import copy
from typing import Any

EBP_CODE = "3301960001"
EBC_CODE = "3301960002"
PAY_CODE = "3301960003"
LOGISTICS_CODE = "3301960004"
AGENT_CODE = "3301960005"
OPERATOR_CODE = "3301960006"
ORDER_NO = "EX20261203000001"
LOGISTICS_NO = "EXWB2026120300001"

ORDER: dict[str, Any] = {
    "guid": "7A4C1B2E-3D5F-4A6B-8C9D-0E1F2A3B4C5D",
    "app_type": "1",
    "app_time": "20261203100000",
    "app_status": "2",
    "order_type": "E",
    "order_no": ORDER_NO,
    "ebp_code": EBP_CODE,
    "ebp_name": "天猫国际示例平台 Demo Platform",
    "ebc_code": EBC_CODE,
    "ebc_name": "杭州示例跨境电商有限公司 Demo Seller",
    "goods_value": "59.80",
    "freight": "12.00",
    "currency": "502",
    "note": "",
    "items": [
        {
            "gnum": 1,
            "item_no": "SKU-TEA-001",
            "item_name": "龙井茶 Longjing tea 250g",
            "item_describe": "",
            "bar_code": "6901234567892",
            "unit": "007",
            "currency": "502",
            "qty": "2",
            "price": "29.90",
            "total_price": "59.80",
            "note": "",
        }
    ],
}
RECEIPT: dict[str, Any] = {
    "guid": "8B5D2C3F-4E6A-4B7C-9D0E-1F2A3B4C5D6E",
    "app_type": "1",
    "app_time": "20261203100500",
    "app_status": "2",
    "ebp_code": EBP_CODE,
    "ebp_name": "天猫国际示例平台 Demo Platform",
    "ebc_code": EBC_CODE,
    "ebc_name": "杭州示例跨境电商有限公司 Demo Seller",
    "order_no": ORDER_NO,
    "pay_code": PAY_CODE,
    "pay_name": "示例支付有限公司 Demo Pay",
    "pay_no": "RCV20261203000001",
    "charge": "71.80",
    "currency": "502",
    "accounting_date": "20261203100400",
    "note": "",
}
WAYBILL: dict[str, Any] = {
    "guid": "9C6E3D4A-5F7B-4C8D-0E1F-2A3B4C5D6E7F",
    "app_type": "1",
    "app_time": "20261203101000",
    "app_status": "2",
    "logistics_code": LOGISTICS_CODE,
    "logistics_name": "示例国际物流有限公司 Demo Logistics",
    "logistics_no": LOGISTICS_NO,
    "freight": "12.00",
    "insured_fee": "0",
    "currency": "502",
    "gross_weight": "0.6",
    "pack_no": 1,
    "goods_info": "龙井茶 Longjing tea",
    "ebc_code": EBC_CODE,
    "ebc_name": "杭州示例跨境电商有限公司 Demo Seller",
    "ebc_telephone": "13900139000",
    "note": "",
}
LIST: dict[str, Any] = {
    "guid": "0D7F4E5B-6A8C-4D9E-1F2A-3B4C5D6E7F80",
    "app_type": "1",
    "app_time": "20261203101500",
    "app_status": "2",
    "customs_code": "2901",
    "ebp_code": EBP_CODE,
    "ebp_name": "天猫国际示例平台 Demo Platform",
    "order_no": ORDER_NO,
    "logistics_code": LOGISTICS_CODE,
    "logistics_name": "示例国际物流有限公司 Demo Logistics",
    "logistics_no": LOGISTICS_NO,
    "cop_no": "EXL20261203000001",
    "ie_flag": "E",
    "port_code": "2901",
    "ie_date": "20261203",
    "statistics_flag": "A",
    "agent_code": AGENT_CODE,
    "agent_name": "杭州示例报关有限公司 Demo Customs Broker",
    "ebc_code": EBC_CODE,
    "ebc_name": "杭州示例跨境电商有限公司 Demo Seller",
    "owner_code": EBC_CODE,
    "owner_name": "杭州示例跨境电商有限公司 Demo Seller",
    "trade_mode": "9610",
    "traf_mode": "5",
    "traf_name": "CA1234",
    "voyage_no": "CA1234",
    "bill_no": "999-12345678",
    "country": "502",
    "pod": "LAX",
    "freight": "12.00",
    "f_currency": "502",
    "f_flag": "3",
    "insured_fee": "0",
    "i_currency": "502",
    "i_flag": "3",
    "wrap_type": "2",
    "pack_no": 1,
    "gross_weight": "0.6",
    "net_weight": "0.5",
    "note": "",
    "items": [
        {
            "gnum": 1,
            "item_no": "SKU-TEA-001",
            "item_name": "龙井茶 Longjing tea 250g",
            "gcode": "0902109000",
            "gname": "绿茶 Green tea",
            "gmodel": "250g/罐 龙井 Longjing",
            "bar_code": "6901234567892",
            "country": "502",
            "currency": "502",
            "qty": "2",
            "qty1": "0.5",
            "unit": "007",
            "unit1": "035",
            "price": "29.90",
            "total_price": "59.80",
            "note": "",
        }
    ],
}
ARRIVAL: dict[str, Any] = {
    "guid": "1E8A5F6C-7B9D-4E0F-2A3B-4C5D6E7F8091",
    "app_type": "1",
    "app_time": "20261203110000",
    "app_status": "2",
    "customs_code": "2901",
    "cop_no": "ARR20261203000001",
    "operator_code": OPERATOR_CODE,
    "operator_name": "下沙示例保税仓储有限公司 Demo Bonded Warehouse",
    "ie_flag": "E",
    "traf_mode": "4",
    "bill_no": "999-12345678",
    "domestic_traf_no": "浙A12345",
    "logistics_code": LOGISTICS_CODE,
    "logistics_name": "示例国际物流有限公司 Demo Logistics",
    "msg_count": 1,
    "msg_seq_no": 1,
    "note": "",
    "items": [{"gnum": 1, "logistics_no": LOGISTICS_NO, "total_package_no": "BAG-0001", "note": ""}],
}
DEPARTURE: dict[str, Any] = {
    "guid": "2F9B6A7D-8C0E-4F1A-3B4C-5D6E7F809102",
    "app_type": "1",
    "app_time": "20261203180000",
    "app_status": "2",
    "customs_code": "2901",
    "cop_no": "DEP20261203000001",
    "logistics_code": LOGISTICS_CODE,
    "logistics_name": "示例国际物流有限公司 Demo Logistics",
    "traf_mode": "5",
    "traf_name": "CA1234",
    "voyage_no": "CA1234",
    "bill_no": "999-12345678",
    "leave_time": "20261203175500",
    "msg_count": 1,
    "msg_seq_no": 1,
    "note": "",
    "items": [{"gnum": 1, "total_package_no": "BAG-0001", "logistics_no": LOGISTICS_NO, "note": ""}],
}
MASTER_BILL: dict[str, Any] = {
    "guid": "3A0C7B8E-9D1F-4A2B-4C5D-6E7F80910213",
    "app_type": "1",
    "app_time": "20261203170000",
    "app_status": "2",
    "customs_code": "2901",
    "cop_no": "MB20261203000001",
    "agent_code": AGENT_CODE,
    "agent_name": "杭州示例报关有限公司 Demo Customs Broker",
    "traf_mode": "5",
    "traf_name": "CA1234",
    "voyage_no": "CA1234",
    "bill_no": "999-12345678",
    "domestic_traf_no": "浙A12345",
    "gross_weight": "0.6",
    "logistics_code": LOGISTICS_CODE,
    "logistics_name": "示例国际物流有限公司 Demo Logistics",
    "msg_count": 1,
    "msg_seq_no": 1,
    "note": "",
    "items": [{"gnum": 1, "total_package_no": "BAG-0001", "logistics_no": LOGISTICS_NO, "invt_no": "", "note": ""}],
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "export_order": ORDER,
    "export_receipt": RECEIPT,
    "export_waybill": WAYBILL,
    "export_arrival": ARRIVAL,
    "export_departure": DEPARTURE,
    "export_list": LIST,
    "export_master_bill": MASTER_BILL,
}


def document(kind: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of ``kind``'s example with head fields changed."""
    data = copy.deepcopy(EXAMPLES[kind])
    data.update(changes)
    return data


def output_example(kind: str, document_id: int = 1) -> dict[str, Any]:
    """The example as the API answers with it, stored and declared."""
    data = {key: value for key, value in document(kind).items() if value != ""}
    data["items"] = [{k: v for k, v in line.items() if v != ""} for line in data.get("items", [])] or None
    if data["items"] is None:
        del data["items"]
    head: dict[str, Any] = {"id": document_id, "status": "declared", "version": 1}
    if kind == "export_list":
        head.update({"status": "declared", "waiting_for": [], "match_failures": []})
    tail = {
        "customs_status": "",
        "customs_note": "",
        "customs_answered_at": None,
        "created_at": "2026-12-03T10:15:00+08:00",
        "updated_at": "2026-12-03T10:15:00+08:00",
    }
    return {**head, **data, **tail}
