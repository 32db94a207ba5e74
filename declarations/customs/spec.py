"""The fields of the four import documents, as the customs message specification lists them.

One table drives the JSON serializers and the XML reader, so a document sent in either form
is the same document. JSON names are snake_case with the specification's misspellings
corrected (``acturalPaid`` is ``actual_paid``); the XML keeps the specification's spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"  # an..N
    CODE = "code"  # exactly N characters
    DECIMAL = "decimal"  # decimal(19,5), a string in JSON
    INTEGER = "integer"
    TIMESTAMP = "timestamp"  # YYYYMMDDhhmmss, China Standard Time
    DATE = "date"  # YYYYMMDD


@dataclass(frozen=True)
class Field:
    name: str  # JSON and model name
    xml: str  # element name in the customs message
    kind: Kind
    length: int = 0  # maximum length, or the exact length of a CODE
    required: bool = True
    personal: bool = False  # masked to everyone but the sender
    label: str = ""


def f(
    name: str, xml: str, kind: Kind = Kind.TEXT, length: int = 0, *, required: bool = True, personal: bool = False
) -> Field:
    return Field(name, xml, kind, length, required, personal)


T, C, D, I, TS, DT = Kind.TEXT, Kind.CODE, Kind.DECIMAL, Kind.INTEGER, Kind.TIMESTAMP, Kind.DATE  # noqa: E741

# The head every declaration starts with.
DECLARATION_HEAD = (
    f("guid", "guid", C, 36),
    f("app_type", "appType", C, 1),
    f("app_time", "appTime", TS, 14),
    f("app_status", "appStatus", T, 3),
)

ORDER_HEAD = (
    *DECLARATION_HEAD,
    f("order_type", "orderType", C, 1),
    f("order_no", "orderNo", T, 60),
    f("ebp_code", "ebpCode", T, 18),
    f("ebp_name", "ebpName", T, 100),
    f("ebc_code", "ebcCode", T, 18),
    f("ebc_name", "ebcName", T, 100),
    f("goods_value", "goodsValue", D),
    f("freight", "freight", D),
    f("discount", "discount", D),
    f("tax_total", "taxTotal", D),
    f("actual_paid", "acturalPaid", D),
    f("currency", "currency", C, 3),
    f("buyer_reg_no", "buyerRegNo", T, 60),
    f("buyer_name", "buyerName", T, 60, personal=True),
    f("buyer_telephone", "buyerTelephone", T, 30, personal=True),
    f("buyer_id_type", "buyerIdType", C, 1),
    f("buyer_id_number", "buyerIdNumber", T, 60, personal=True),
    f("pay_code", "payCode", T, 18, required=False),
    f("pay_name", "payName", T, 100, required=False),
    f("pay_transaction_id", "payTransactionId", T, 60, required=False),
    f("batch_numbers", "batchNumbers", T, 100, required=False),
    f("consignee", "consignee", T, 100, personal=True),
    f("consignee_telephone", "consigneeTelephone", T, 50, personal=True),
    f("consignee_address", "consigneeAddress", T, 200, personal=True),
    f("consignee_district", "consigneeDistrict", C, 6, required=False),
    f("note", "note", T, 1000, required=False),
)

ORDER_LINE = (
    f("gnum", "gnum", I),
    f("item_no", "itemNo", T, 30, required=False),
    f("item_name", "itemName", T, 250),
    f("gmodel", "gmodel", T, 510),
    f("item_describe", "itemDescribe", T, 1000, required=False),
    f("bar_code", "barCode", T, 50, required=False),
    f("unit", "unit", C, 3),
    f("qty", "qty", D),
    f("price", "price", D),
    f("total_price", "totalPrice", D),
    f("currency", "currency", C, 3),
    f("country", "country", C, 3),
    f("note", "note", T, 1000, required=False),
)

PAYMENT_HEAD = (
    *DECLARATION_HEAD,
    f("pay_code", "payCode", T, 18),
    f("pay_name", "payName", T, 100),
    f("pay_transaction_id", "payTransactionId", T, 60),
    f("order_no", "orderNo", T, 60),
    f("ebp_code", "ebpCode", T, 18),
    f("ebp_name", "ebpName", T, 100),
    f("payer_id_type", "payerIdType", C, 1),
    f("payer_id_number", "payerIdNumber", T, 60, personal=True),
    f("payer_name", "payerName", T, 60, personal=True),
    f("telephone", "telephone", T, 60, required=False, personal=True),
    f("amount_paid", "amountPaid", D),
    f("currency", "currency", C, 3),
    f("pay_time", "payTime", TS, 14),
    f("note", "note", T, 1000, required=False),
)

WAYBILL_HEAD = (
    *DECLARATION_HEAD,
    f("logistics_code", "logisticsCode", T, 18),
    f("logistics_name", "logisticsName", T, 100),
    f("logistics_no", "logisticsNo", T, 60),
    f("bill_no", "billNo", T, 37, required=False),
    f("order_no", "orderNo", T, 60),
    f("freight", "freight", D, required=False),
    f("insured_fee", "insuredFee", D, required=False),
    f("currency", "currency", C, 3),
    f("weight", "weight", D),
    f("pack_no", "packNo", I),
    f("goods_info", "goodsInfo", T, 200, required=False),
    f("consignee", "consignee", T, 100, personal=True),
    f("consignee_address", "consigneeAddress", T, 200, personal=True),
    f("consignee_telephone", "consigneeTelephone", T, 50, personal=True),
    f("note", "note", T, 1000, required=False),
)

INVENTORY_HEAD = (
    *DECLARATION_HEAD,
    f("order_no", "orderNo", T, 60),
    f("ebp_code", "ebpCode", T, 18),
    f("ebp_name", "ebpName", T, 100),
    f("ebc_code", "ebcCode", T, 18),
    f("ebc_name", "ebcName", T, 100),
    f("logistics_no", "logisticsNo", T, 60),
    f("logistics_code", "logisticsCode", T, 18),
    f("logistics_name", "logisticsName", T, 100),
    f("cop_no", "copNo", T, 20, required=False),
    f("pre_no", "preNo", T, 18, required=False),
    f("assure_code", "assureCode", T, 30),
    f("ems_no", "emsNo", T, 30, required=False),
    f("invt_no", "invtNo", T, 18, required=False),
    f("ie_flag", "ieFlag", C, 1),
    f("decl_time", "declTime", DT, 8),
    f("customs_code", "customsCode", C, 4),
    f("port_code", "portCode", C, 4),
    f("ie_date", "ieDate", DT, 8, required=False),
    f("buyer_id_type", "buyerIdType", C, 1),
    f("buyer_id_number", "buyerIdNumber", T, 60, personal=True),
    f("buyer_name", "buyerName", T, 60, personal=True),
    f("buyer_telephone", "buyerTelephone", T, 30, personal=True),
    f("consignee_address", "consigneeAddress", T, 200, personal=True),
    f("agent_code", "agentCode", T, 18),
    f("agent_name", "agentName", T, 100),
    f("area_code", "areaCode", T, 18, required=False),
    f("area_name", "areaName", T, 100, required=False),
    f("trade_mode", "tradeMode", C, 4),
    f("traf_mode", "trafMode", C, 1),
    f("traf_no", "trafNo", T, 100, required=False),
    f("voyage_no", "voyageNo", T, 32, required=False),
    f("bill_no", "billNo", T, 37, required=False),
    f("loct_no", "loctNo", T, 10, required=False),
    f("license_no", "licenseNo", T, 19, required=False),
    f("country", "country", C, 3),
    f("freight", "freight", D),
    f("insured_fee", "insuredFee", D),
    f("currency", "currency", C, 3),
    f("wrap_type", "wrapType", C, 1, required=False),
    f("pack_no", "packNo", I),
    f("gross_weight", "grossWeight", D),
    f("net_weight", "netWeight", D),
    f("note", "note", T, 1000, required=False),
)

INVENTORY_LINE = (
    f("gnum", "gnum", I),
    f("item_record_no", "itemRecordNo", T, 30, required=False),
    f("item_no", "itemNo", T, 20, required=False),
    f("item_name", "itemName", T, 250, required=False),
    f("gcode", "gcode", C, 10),
    f("gname", "gname", T, 250),
    f("gmodel", "gmodel", T, 510),
    f("bar_code", "barCode", T, 50, required=False),
    f("country", "country", C, 3),
    f("trade_country", "tradeCountry", T, 3, required=False),
    f("currency", "currency", C, 3),
    f("qty", "qty", D),
    f("unit", "unit", C, 3),
    f("qty1", "qty1", D),
    f("unit1", "unit1", C, 3),
    f("qty2", "qty2", D, required=False),
    f("unit2", "unit2", C, 3, required=False),
    f("price", "price", D),
    f("total_price", "totalPrice", D),
    f("note", "note", T, 1000, required=False),
)

INVENTORY_CANCEL = (
    *DECLARATION_HEAD,
    f("customs_code", "customsCode", C, 4),
    f("order_no", "orderNo", T, 60),
    f("ebp_code", "ebpCode", T, 18),
    f("ebp_name", "ebpName", T, 100),
    f("ebc_code", "ebcCode", T, 18),
    f("ebc_name", "ebcName", T, 100),
    f("logistics_no", "logisticsNo", T, 60),
    f("logistics_code", "logisticsCode", T, 18),
    f("logistics_name", "logisticsName", T, 100),
    f("cop_no", "copNo", T, 20, required=False),
    f("pre_no", "preNo", T, 18, required=False),
    f("invt_no", "invtNo", T, 18),
    f("buyer_id_type", "buyerIdType", C, 1),
    f("buyer_id_number", "buyerIdNumber", T, 60, personal=True),
    f("buyer_name", "buyerName", T, 60, personal=True),
    f("buyer_telephone", "buyerTelephone", T, 30, personal=True),
    f("agent_code", "agentCode", T, 18),
    f("agent_name", "agentName", T, 100),
    f("reason", "reason", T, 1000),
    f("note", "note", T, 1000, required=False),
)

# A return request (CEB625, table 3-45): its head has the cancellation's fields (the list's
# keys, its buyer, the reason); each line names a line of the list and the quantity returned.
INVENTORY_RETURN = INVENTORY_CANCEL
INVENTORY_RETURN_LINE = (
    f("gnum", "gnum", I),
    f("gcode", "gcode", C, 10),
    f("gname", "gname", T, 250),
    f("qty", "qty", D),
    f("unit", "unit", C, 3),
    f("note", "note", T, 1000, required=False),
)


@dataclass(frozen=True)
class DocumentSpec:
    """One document type: its message, the elements around it and its fields."""

    name: str  # order, payment, waybill, inventory
    message: str  # CEB311Message
    element: str  # Order
    head_element: str  # OrderHead
    head: tuple[Field, ...]
    line_element: str = ""  # OrderList
    lines: tuple[Field, ...] = ()

    def field(self, name: str) -> Field:
        return next(f for f in (*self.head, *self.lines) if f.name == name)

    @property
    def personal_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.head if f.personal)


ORDER = DocumentSpec("order", "CEB311Message", "Order", "OrderHead", ORDER_HEAD, "OrderList", ORDER_LINE)
PAYMENT = DocumentSpec("payment", "CEB411Message", "Payment", "PaymentHead", PAYMENT_HEAD)
WAYBILL = DocumentSpec("waybill", "CEB511Message", "Logistics", "LogisticsHead", WAYBILL_HEAD)
INVENTORY = DocumentSpec(
    "inventory", "CEB621Message", "Inventory", "InventoryHead", INVENTORY_HEAD, "InventoryList", INVENTORY_LINE
)
SPECS = {spec.name: spec for spec in (ORDER, PAYMENT, WAYBILL, INVENTORY)}
# A return request is not one of the four documents (it is filed against a list), but its
# message reads the same way.
INVENTORY_RETURN_SPEC = DocumentSpec(
    "inventory_return",
    "CEB625Message",
    "InvtRefund",
    "InvtRefundHead",
    INVENTORY_RETURN,
    "InvtRefundList",
    INVENTORY_RETURN_LINE,
)
