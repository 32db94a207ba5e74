"""One parcel's four documents, valid against the demo registry (``manage.py load_demo``)
and the sample reference data. They are the OpenAPI examples and the README's first calls.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiExample

from declarations.customs.spec import Field, Kind
from declarations.intake.amounts import amount_scale
from declarations.intake.outputs import plain
from declarations.kinds import KINDS, DocumentType

SUBMIT_DESCRIPTION = """\
Send one document as JSON, or up to 100 as the customs message {message} with
`Content-Type: application/xml` (validated against the customs schema; the answer is XML
with one result per document, in the manner of the customs receipts).

`app_type` 1 stores a new document, 2 replaces it (until the list is declared), 3 deletes
it. `app_status` 1 keeps a draft; 2 declares. A version whose `app_time` is not later than
the stored one is ignored (409 `stale_app_time`); one dated further ahead of now than the
tolerance is refused (400 `app_time_in_future`). Only the enterprise that sent a document (or,
for an order, an agent its e-commerce enterprise appointed) changes or deletes it: a key the
caller may not see is answered 404 `not_found`, as a key nobody stored, and one it may see
403 `not_document_sender`. Enterprises may be named by customs code or USCC; documents are
stored under the customs code. Amounts are decimal strings.
"""

BUYER_ID = "330106199003071236"  # a valid check character; not a real person

ORDER: dict[str, Any] = {
    "guid": "4CDE1CFD-EDED-46B1-946C-B8022E42FC94",
    "app_type": "1",
    "app_time": "20261125101500",
    "app_status": "2",
    "order_type": "I",
    "order_no": "SW20261125000001",
    "ebp_code": "3301960001",
    "ebp_name": "天猫国际示例平台 Demo Platform",
    "ebc_code": "3301960002",
    "ebc_name": "杭州示例跨境电商有限公司 Demo Seller",
    "goods_value": "398.00",
    "freight": "10.00",
    "discount": "0",
    "tax_total": "37.13",
    "actual_paid": "445.13",
    "currency": "142",
    "buyer_reg_no": "buyer-0001",
    "buyer_name": "张三",
    "buyer_telephone": "13800138000",
    "buyer_id_type": "1",
    "buyer_id_number": BUYER_ID,
    "pay_code": "3301960003",
    "pay_name": "示例支付有限公司 Demo Pay",
    "pay_transaction_id": "PAY20261125000001",
    "consignee": "张三",
    "consignee_telephone": "13800138000",
    "consignee_address": "浙江省杭州市西湖区文三路100号",
    "consignee_district": "330106",
    "items": [
        {
            "gnum": 1,
            "item_no": "SKU-0001",
            "item_name": "保湿面霜 Moisturising cream 50ml",
            "gmodel": "50ml/瓶",
            "unit": "007",
            "qty": "2",
            "price": "99.00",
            "total_price": "198.00",
            "currency": "142",
            "country": "116",
        },
        {
            "gnum": 2,
            "item_no": "SKU-0002",
            "item_name": "婴儿配方奶粉 Infant formula 800g",
            "gmodel": "800g/罐",
            "unit": "007",
            "qty": "1",
            "price": "200.00",
            "total_price": "200.00",
            "currency": "142",
            "country": "601",
        },
    ],
}

PAYMENT: dict[str, Any] = {
    "guid": "5A1B2C3D-0000-4000-8000-000000000001",
    "app_type": "1",
    "app_time": "20261125101600",
    "app_status": "2",
    "pay_code": "3301960003",
    "pay_name": "示例支付有限公司 Demo Pay",
    "pay_transaction_id": "PAY20261125000001",
    "order_no": "SW20261125000001",
    "ebp_code": "3301960001",
    "ebp_name": "天猫国际示例平台 Demo Platform",
    "payer_id_type": "1",
    "payer_id_number": BUYER_ID,
    "payer_name": "张三",
    "telephone": "13800138000",
    "amount_paid": "445.13",
    "currency": "142",
    "pay_time": "20261125101530",
}

WAYBILL: dict[str, Any] = {
    "guid": "6B2C3D4E-0000-4000-8000-000000000001",
    "app_type": "1",
    "app_time": "20261125110000",
    "app_status": "2",
    "logistics_code": "3301960004",
    "logistics_name": "示例国际物流有限公司 Demo Logistics",
    "logistics_no": "YT20261125000001",
    "bill_no": "MAWB-784-12345675",
    "order_no": "SW20261125000001",
    "freight": "10.00",
    "insured_fee": "0",
    "currency": "142",
    "weight": "1.2",
    "pack_no": 1,
    "goods_info": "面霜, 奶粉",
    "consignee": "张三",
    "consignee_address": "浙江省杭州市西湖区文三路100号",
    "consignee_telephone": "13800138000",
}

INVENTORY: dict[str, Any] = {
    "guid": "7C3D4E5F-0000-4000-8000-000000000001",
    "app_type": "1",
    "app_time": "20261125113000",
    "app_status": "2",
    "order_no": "SW20261125000001",
    "ebp_code": "3301960001",
    "ebp_name": "天猫国际示例平台 Demo Platform",
    "ebc_code": "3301960002",
    "ebc_name": "杭州示例跨境电商有限公司 Demo Seller",
    "logistics_no": "YT20261125000001",
    "logistics_code": "3301960004",
    "logistics_name": "示例国际物流有限公司 Demo Logistics",
    "cop_no": "COP20261125000001",
    "assure_code": "3301960002",
    "ie_flag": "I",
    "decl_time": "20261125",
    "customs_code": "2901",
    "port_code": "2901",
    "ie_date": "20261125",
    "buyer_id_type": "1",
    "buyer_id_number": BUYER_ID,
    "buyer_name": "张三",
    "buyer_telephone": "13800138000",
    "consignee_address": "浙江省杭州市西湖区文三路100号",
    "agent_code": "3301960005",
    "agent_name": "杭州示例报关有限公司 Demo Customs Broker",
    "trade_mode": "9610",
    "traf_mode": "5",
    "traf_no": "CA1041",
    "voyage_no": "20261125",
    "bill_no": "MAWB-784-12345675",
    "country": "116",
    "freight": "10.00",
    "insured_fee": "0",
    "currency": "142",
    "pack_no": 1,
    "gross_weight": "1.2",
    "net_weight": "1.0",
    "items": [
        {
            "gnum": 1,
            "item_no": "SKU-0001",
            "item_name": "保湿面霜 Moisturising cream 50ml",
            "gcode": "3304990099",
            "gname": "保湿面霜",
            "gmodel": "50ml/瓶",
            "country": "116",
            "currency": "142",
            "qty": "2",
            "unit": "007",
            "qty1": "0.1",
            "unit1": "035",
            "price": "99.00",
            "total_price": "198.00",
        },
        {
            "gnum": 2,
            "item_no": "SKU-0002",
            "item_name": "婴儿配方奶粉 Infant formula 800g",
            "gcode": "1901101000",
            "gname": "婴儿配方奶粉",
            "gmodel": "800g/罐",
            "country": "601",
            "currency": "142",
            "qty": "1",
            "unit": "007",
            "qty1": "0.8",
            "unit1": "035",
            "price": "200.00",
            "total_price": "200.00",
        },
    ],
}

DOCUMENTS: dict[str, dict[str, Any]] = {"order": ORDER, "payment": PAYMENT, "waybill": WAYBILL, "inventory": INVENTORY}


def document(kind: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of the example document, with ``changes`` applied to its head."""
    data = copy.deepcopy(DOCUMENTS[kind])
    data.update(changes)
    return data


def _shown(field: Field, sent: dict[str, Any]) -> Any:
    """A field as the answer shows what was sent: ID numbers masked, amounts at the scale they
    were sent; a text left out is blank (stored as such), any other value left out is null."""
    if field.name.endswith("_id_number"):
        return "330*************36"
    if field.name not in sent:
        return "" if field.kind in (Kind.TEXT, Kind.CODE) else None
    if field.kind is Kind.DECIMAL:
        amount = Decimal(sent[field.name])
        return plain(amount, Kind.DECIMAL, scale=amount_scale(amount))
    return sent[field.name]


def _output(kind: DocumentType) -> dict[str, Any]:
    """The answer to the example document, as its output serializer writes it."""
    sent = DOCUMENTS[kind.name]
    state: dict[str, Any] = {"id": 81, "status": kind.declared_status}
    if kind.is_list:
        state["waiting_for"] = ["waybill"]
    else:
        state["customs_status"] = ""
    state["version"] = 1
    data = {**state, **{f.name: _shown(f, sent) for f in kind.spec.head}}
    if kind.spec.lines:
        data["items"] = [{f.name: _shown(f, line) for f in kind.spec.lines} for line in sent["items"]]
    if kind.is_list:
        data["tax_estimate"] = None
    return {**data, "created_at": "2026-11-25T11:30:02+08:00", "updated_at": "2026-11-25T11:30:02+08:00"}


OUTPUT_EXAMPLES = {name: _output(kind) for name, kind in KINDS.items()}


def page_example(kind: DocumentType) -> dict[str, Any]:
    return {
        "next": f"http://localhost:8000/api/v1/{kind.plural}?cursor=cD0yMDI2",
        "previous": None,
        "results": [OUTPUT_EXAMPLES[kind.name]],
    }


def submit_examples(kind: DocumentType) -> list[OpenApiExample]:
    return [
        OpenApiExample(
            f"New {kind.name}", value=DOCUMENTS[kind.name], request_only=True, media_type="application/json"
        ),
        OpenApiExample("Stored", value=OUTPUT_EXAMPLES[kind.name], response_only=True, status_codes=["201"]),
    ]


BATCH_DESCRIPTION = """\
Each document is what a single POST to its kind's endpoint takes (`/api/v1/orders`...), sent
by the caller, and is stored or refused on its own: one refusal never holds back the others.
The answer lists one result per document, in the order sent: `accepted` with the document's
id, or `refused` with the problem details a single submission would have answered (the same
`code`, `errors` and `customs_code`). Documents are taken in order, so a change may follow its
document in the same batch. A batch holds up to 1,000 documents; a customs XML message (up to
100 documents) takes the same path at its kind's endpoint.

With an `Idempotency-Key`, a retry of the same batch is answered as the first time, without
storing anything twice.
"""


def _second_order() -> dict[str, Any]:
    return document("order", order_no="SW20261125000002", guid="4CDE1CFD-EDED-46B1-946C-B8022E42FC95")


BATCH_REQUEST: dict[str, Any] = {
    "documents": [
        {"kind": "order", "document": ORDER},
        {"kind": "order", "document": {**_second_order(), "currency": "840"}},
    ]
}
BATCH_RESPONSE: dict[str, Any] = {
    "accepted": 1,
    "refused": 1,
    "results": [
        {"index": 0, "kind": "order", "status": "accepted", "id": 81, "created": True, "document_status": "declared"},
        {
            "index": 1,
            "kind": "order",
            "status": "refused",
            "problem": {
                "type": "urn:single-window:problem:validation_failed",
                "title": "Bad request",
                "status": 400,
                "detail": "The request has invalid fields.",
                "code": "validation_failed",
                "instance": "/api/v1/batches#/documents/1",
                "errors": [
                    {"field": "currency", "code": "currency_not_cny", "message": "Import currency is 142 (CNY)."}
                ],
            },
        },
    ],
}
