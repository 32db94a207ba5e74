"""The fields of the export documents, as chapter 2 of the customs message specification (and
``export202205.xsd``) lists them, in the schema's order.

One table per document drives the JSON serializers, the XML reader and the messages the gateway
builds, so a document sent in either form is the same document. JSON names are snake_case; the
XML keeps the specification's names. Customs' receipt of each message names the document by the
keys in ``ExportSpec.receipt_keys``.
"""

from __future__ import annotations

from dataclasses import dataclass

from declarations.customs.spec import DocumentSpec, Kind, f

T, C, D, I, TS, DT = Kind.TEXT, Kind.CODE, Kind.DECIMAL, Kind.INTEGER, Kind.TIMESTAMP, Kind.DATE  # noqa: E741

# The head every export declaration starts with (appStatus is one character in the export schema).
HEAD = (
    f("guid", "guid", C, 36),
    f("app_type", "appType", C, 1),
    f("app_time", "appTime", TS, 14),
    f("app_status", "appStatus", C, 1),
)

ORDER_HEAD = (
    *HEAD,
    f("order_type", "orderType", C, 1),
    f("order_no", "orderNo", T, 60),
    f("ebp_code", "ebpCode", T, 18),
    f("ebp_name", "ebpName", T, 100),
    f("ebc_code", "ebcCode", T, 18),
    f("ebc_name", "ebcName", T, 100),
    f("goods_value", "goodsValue", D),
    f("freight", "freight", D),
    f("currency", "currency", C, 3),
    f("note", "note", T, 1000, required=False),
)
ORDER_LINE = (
    f("gnum", "gnum", I),
    f("item_no", "itemNo", T, 30),
    f("item_name", "itemName", T, 250),
    f("item_describe", "itemDescribe", T, 1000, required=False),
    f("bar_code", "barCode", T, 50, required=False),
    f("unit", "unit", C, 3),
    f("currency", "currency", C, 3),
    f("qty", "qty", D),
    f("price", "price", D),
    f("total_price", "totalPrice", D),
    f("note", "note", T, 1000, required=False),
)

RECEIPT_HEAD = (
    *HEAD,
    f("ebp_code", "ebpCode", T, 18),
    f("ebp_name", "ebpName", T, 100),
    f("ebc_code", "ebcCode", T, 18),
    f("ebc_name", "ebcName", T, 100),
    f("order_no", "orderNo", T, 60),
    # Optional in the schema (cash has none); the single window takes receipts from payment
    # companies, which send in their own code.
    f("pay_code", "payCode", T, 18),
    f("pay_name", "payName", T, 100),
    f("pay_no", "payNo", T, 60, required=False),
    f("charge", "charge", D),
    f("currency", "currency", C, 3),
    f("accounting_date", "accountingDate", TS, 14),
    f("note", "note", T, 1000, required=False),
)

WAYBILL_HEAD = (
    *HEAD,
    f("logistics_code", "logisticsCode", T, 18),
    f("logistics_name", "logisticsName", T, 100),
    f("logistics_no", "logisticsNo", T, 32),
    f("freight", "freight", D),
    f("insured_fee", "insuredFee", D),
    f("currency", "currency", C, 3),
    f("gross_weight", "grossWeight", D),
    f("pack_no", "packNo", I),
    f("goods_info", "goodsInfo", T, 200),
    f("ebc_code", "ebcCode", T, 18, required=False),
    f("ebc_name", "ebcName", T, 100, required=False),
    f("ebc_telephone", "ebcTelephone", T, 50, required=False, personal=True),
    f("note", "note", T, 1000, required=False),
)

ARRIVAL_HEAD = (
    *HEAD,
    f("customs_code", "customsCode", C, 4),
    f("cop_no", "copNo", T, 30),
    f("pre_no", "preNo", C, 18, required=False),
    f("operator_code", "operatorCode", T, 18),
    f("operator_name", "operatorName", T, 100),
    f("loct_no", "loctNo", T, 10, required=False),
    f("ie_flag", "ieFlag", C, 1),
    f("traf_mode", "trafMode", C, 1),
    f("bill_no", "billNo", T, 37, required=False),
    f("domestic_traf_no", "domesticTrafNo", T, 100),
    f("logistics_code", "logisticsCode", T, 18),
    f("logistics_name", "logisticsName", T, 100),
    f("msg_count", "msgCount", I),
    f("msg_seq_no", "msgSeqNo", I),
    f("note", "note", T, 1000, required=False),
)
ARRIVAL_LINE = (
    f("gnum", "gnum", I),
    f("logistics_no", "logisticsNo", T, 32),
    f("total_package_no", "totalPackageNo", T, 37, required=False),
    f("note", "note", T, 1000, required=False),
)

DEPARTURE_HEAD = (
    *HEAD,
    f("customs_code", "customsCode", C, 4),
    f("cop_no", "copNo", T, 30),
    f("pre_no", "preNo", C, 18, required=False),
    f("logistics_code", "logisticsCode", T, 18),
    f("logistics_name", "logisticsName", T, 100),
    f("traf_mode", "trafMode", C, 1),
    f("traf_name", "trafName", T, 100, required=False),
    f("voyage_no", "voyageNo", T, 32, required=False),
    f("bill_no", "billNo", T, 37, required=False),
    f("leave_time", "leaveTime", TS, 14),
    f("msg_count", "msgCount", I),
    f("msg_seq_no", "msgSeqNo", I),
    f("note", "note", T, 1000, required=False),
)
DEPARTURE_LINE = (
    f("gnum", "gnum", I),
    f("total_package_no", "totalPackageNo", T, 37, required=False),
    f("logistics_no", "logisticsNo", T, 32),
    f("note", "note", T, 1000, required=False),
)

LIST_HEAD = (
    *HEAD,
    f("customs_code", "customsCode", C, 4),
    f("ebp_code", "ebpCode", T, 18),
    f("ebp_name", "ebpName", T, 100),
    f("order_no", "orderNo", T, 60),
    f("logistics_code", "logisticsCode", T, 18),
    f("logistics_name", "logisticsName", T, 100),
    f("logistics_no", "logisticsNo", T, 32),
    f("cop_no", "copNo", T, 30),
    f("pre_no", "preNo", C, 18, required=False),
    f("invt_no", "invtNo", T, 20, required=False),
    f("ie_flag", "ieFlag", C, 1),
    f("port_code", "portCode", C, 4),
    f("ie_date", "ieDate", DT, 8),
    f("statistics_flag", "statisticsFlag", C, 1),
    f("agent_code", "agentCode", T, 18),
    f("agent_name", "agentName", T, 100),
    f("ebc_code", "ebcCode", T, 18),
    f("ebc_name", "ebcName", T, 100),
    f("owner_code", "ownerCode", T, 18),
    f("owner_name", "ownerName", T, 100),
    f("iac_code", "iacCode", T, 18, required=False),
    f("iac_name", "iacName", T, 100, required=False),
    f("ems_no", "emsNo", T, 30, required=False),
    f("trade_mode", "tradeMode", C, 4),
    f("traf_mode", "trafMode", C, 1),
    f("traf_name", "trafName", T, 100, required=False),
    f("voyage_no", "voyageNo", T, 32, required=False),
    f("bill_no", "billNo", T, 37, required=False),
    f("total_package_no", "totalPackageNo", T, 37, required=False),
    f("loct_no", "loctNo", T, 10, required=False),
    f("license_no", "licenseNo", T, 19, required=False),
    f("country", "country", C, 3),
    f("pod", "POD", T, 4),
    f("freight", "freight", D),
    f("f_currency", "fCurrency", C, 3),
    f("f_flag", "fFlag", C, 1),
    f("insured_fee", "insuredFee", D),
    f("i_currency", "iCurrency", C, 3),
    f("i_flag", "iFlag", C, 1),
    f("wrap_type", "wrapType", C, 1),
    f("pack_no", "packNo", I),
    f("gross_weight", "grossWeight", D),
    f("net_weight", "netWeight", D),
    f("note", "note", T, 1000, required=False),
)
LIST_LINE = (
    f("gnum", "gnum", I),
    f("item_no", "itemNo", T, 20),
    f("item_record_no", "itemRecordNo", T, 30, required=False),
    f("item_name", "itemName", T, 250, required=False),
    f("gcode", "gcode", C, 10),
    f("gname", "gname", T, 250),
    f("gmodel", "gmodel", T, 250),
    f("bar_code", "barCode", T, 50),
    f("country", "country", C, 3),
    f("currency", "currency", C, 3),
    f("qty", "qty", D),
    f("qty1", "qty1", D),
    f("qty2", "qty2", D, required=False),
    f("unit", "unit", C, 3),
    f("unit1", "unit1", C, 3),
    f("unit2", "unit2", C, 3, required=False),
    f("price", "price", D),
    f("total_price", "totalPrice", D),
    f("note", "note", T, 1000, required=False),
)

CANCEL_HEAD = (
    *HEAD,
    f("customs_code", "customsCode", C, 4),
    f("cop_no", "copNo", T, 30),
    f("pre_no", "preNo", C, 18, required=False),
    f("invt_no", "invtNo", T, 20),
    f("reason", "reason", T, 1000),
    f("agent_code", "agentCode", T, 18),
    f("agent_name", "agentName", T, 100),
    f("ebc_code", "ebcCode", T, 18),
    f("ebc_name", "ebcName", T, 100),
    f("note", "note", T, 1000, required=False),
)

MASTER_BILL_HEAD = (
    *HEAD,
    f("customs_code", "customsCode", C, 4),
    f("cop_no", "copNo", T, 30),
    f("pre_no", "preNo", C, 18, required=False),
    f("agent_code", "agentCode", T, 18),
    f("agent_name", "agentName", T, 100),
    f("loct_no", "loctNo", T, 10, required=False),
    f("traf_mode", "trafMode", C, 1),
    f("traf_name", "trafName", T, 100),
    f("voyage_no", "voyageNo", T, 32),
    f("bill_no", "billNo", T, 37),
    f("domestic_traf_no", "domesticTrafNo", T, 100, required=False),
    f("gross_weight", "grossWeight", D),
    f("logistics_code", "logisticsCode", T, 18),
    f("logistics_name", "logisticsName", T, 100),
    f("msg_count", "msgCount", I),
    f("msg_seq_no", "msgSeqNo", I),
    f("note", "note", T, 1000, required=False),
)
MASTER_BILL_LINE = (
    f("gnum", "gnum", I),
    f("total_package_no", "totalPackageNo", T, 60, required=False),
    f("logistics_no", "logisticsNo", T, 32),
    f("invt_no", "invtNo", T, 20, required=False),
    f("note", "note", T, 1000, required=False),
)


@dataclass(frozen=True)
class ExportSpec(DocumentSpec):
    """An export message: as ``DocumentSpec``; an empty ``head_element`` means the document
    element holds its fields itself (``Receipts``, ``Logistics``, ``InvtCancel``).

    ``receipt_message``/``receipt_element``: customs' answer; ``receipt_keys``: the (element,
    JSON name) pairs its return element carries before ``returnStatus``, in the schema's order.
    """

    receipt_message: str = ""
    receipt_element: str = ""
    receipt_keys: tuple[tuple[str, str], ...] = ()


ORDER = ExportSpec(
    "export_order",
    "CEB303Message",
    "Order",
    "OrderHead",
    ORDER_HEAD,
    "OrderList",
    ORDER_LINE,
    receipt_message="CEB304Message",
    receipt_element="OrderReturn",
    receipt_keys=(("guid", "guid"), ("ebpCode", "ebp_code"), ("ebcCode", "ebc_code"), ("orderNo", "order_no")),
)
RECEIPT = ExportSpec(
    "export_receipt",
    "CEB403Message",
    "Receipts",
    "",
    RECEIPT_HEAD,
    receipt_message="CEB404Message",
    receipt_element="ReceiptsReturn",
    receipt_keys=(("guid", "guid"), ("ebcCode", "ebc_code"), ("orderNo", "order_no"), ("payNo", "pay_no")),
)
WAYBILL = ExportSpec(
    "export_waybill",
    "CEB505Message",
    "Logistics",
    "",
    WAYBILL_HEAD,
    receipt_message="CEB506Message",
    receipt_element="LogisticsReturn",
    receipt_keys=(("guid", "guid"), ("logisticsCode", "logistics_code"), ("logisticsNo", "logistics_no")),
)
ARRIVAL = ExportSpec(
    "export_arrival",
    "CEB507Message",
    "Arrival",
    "ArrivalHead",
    ARRIVAL_HEAD,
    "ArrivalList",
    ARRIVAL_LINE,
    receipt_message="CEB508Message",
    receipt_element="ArrivalReturn",
    receipt_keys=(
        ("guid", "guid"),
        ("operatorCode", "operator_code"),
        ("logisticsCode", "logistics_code"),
        ("preNo", "pre_no"),
        ("copNo", "cop_no"),
        ("billNo", "bill_no"),
        ("msgSeqNo", "msg_seq_no"),
    ),
)
DEPARTURE = ExportSpec(
    "export_departure",
    "CEB509Message",
    "Departure",
    "DepartureHead",
    DEPARTURE_HEAD,
    "DepartureList",
    DEPARTURE_LINE,
    receipt_message="CEB510Message",
    receipt_element="DepartureReturn",
    receipt_keys=(
        ("guid", "guid"),
        ("logisticsCode", "logistics_code"),
        ("copNo", "cop_no"),
        ("preNo", "pre_no"),
        ("msgSeqNo", "msg_seq_no"),
    ),
)
LIST = ExportSpec(
    "export_list",
    "CEB603Message",
    "Inventory",
    "InventoryHead",
    LIST_HEAD,
    "InventoryList",
    LIST_LINE,
    receipt_message="CEB604Message",
    receipt_element="InventoryReturn",
    receipt_keys=(
        ("guid", "guid"),
        ("agentCode", "agent_code"),
        ("copNo", "cop_no"),
        ("preNo", "pre_no"),
        ("invtNo", "invt_no"),
        ("ebcCode", "ebc_code"),
        ("ebpCode", "ebp_code"),
        ("orderNo", "order_no"),
        ("statisticsFlag", "statistics_flag"),
    ),
)
CANCELLATION = ExportSpec(
    "export_cancellation",
    "CEB605Message",
    "InvtCancel",
    "",
    CANCEL_HEAD,
    receipt_message="CEB606Message",
    receipt_element="InvtCancelReturn",
    receipt_keys=(
        ("guid", "guid"),
        ("agentCode", "agent_code"),
        ("copNo", "cop_no"),
        ("preNo", "pre_no"),
        ("invtNo", "invt_no"),
    ),
)
MASTER_BILL = ExportSpec(
    "export_master_bill",
    "CEB607Message",
    "WayBill",
    "WayBillHead",
    MASTER_BILL_HEAD,
    "WayBillList",
    MASTER_BILL_LINE,
    receipt_message="CEB608Message",
    receipt_element="WayBillReturn",
    receipt_keys=(
        ("guid", "guid"),
        ("agentCode", "agent_code"),
        ("logisticsCode", "logistics_code"),
        ("copNo", "cop_no"),
        ("preNo", "pre_no"),
        ("billNo", "bill_no"),
        ("msgSeqNo", "msg_seq_no"),
    ),
)

SPECS: dict[str, ExportSpec] = {
    spec.message: spec for spec in (ORDER, RECEIPT, WAYBILL, ARRIVAL, DEPARTURE, LIST, CANCELLATION, MASTER_BILL)
}
