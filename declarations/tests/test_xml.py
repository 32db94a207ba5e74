"""The customs XML reader and the answers it writes: official samples, safety, receipts, CEB900."""

from __future__ import annotations

import copy
import datetime
import re
import time
from pathlib import Path

import pytest
from lxml import etree
from pytest_django.fixtures import Settings

from core import errors
from declarations.customs import codes, xml
from declarations.customs.spec import SPECS, DocumentSpec
from declarations.customs.xml import (
    CEB_NS,
    DS_NS,
    DocumentResult,
    MalformedXml,
    MessageRejected,
    MessageTooLarge,
    SchemaInvalid,
    UnsafeXml,
    WrongMessageType,
    message_rejected_xml,
    parse_message,
    receipt_keys,
    receipt_xml,
)

SAMPLES = Path(xml.__file__).resolve().parent / "schemas" / "samples"
ID_NUMBER = "130681136250023332"  # the buyer's ID number in the samples
XS = "{http://www.w3.org/2001/XMLSchema}"


def sample(message: str) -> bytes:
    return (SAMPLES / f"{message}Message.xml").read_bytes()


def tree_of(body: bytes) -> etree._Element:
    return etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))


def assert_valid(body: bytes) -> etree._Element:
    """``body`` validates against the customs schema; returns its root."""
    root = tree_of(body)
    schema = xml.customs_schema()
    assert schema.validate(root.getroottree()), schema.error_log
    return root


def ceb(name: str) -> str:
    return f"{{{CEB_NS}}}{name}"


def without_signature(body: bytes) -> etree._Element:
    root = tree_of(body)
    for signature in root.findall(f"{{{DS_NS}}}Signature"):
        root.remove(signature)
    return root


def assert_ceb900(rejected: MessageRejected, *, status: str) -> etree._Element:
    """The CEB900 answer to ``rejected`` validates, says ``status`` and echoes nothing personal."""
    body = message_rejected_xml(rejected)
    root = assert_valid(body)
    assert root.tag == ceb("CEB900Message")
    answer = root.find(ceb("MessageReturn"))
    assert answer is not None
    assert answer.findtext(ceb("returnStatus")) == status
    assert answer.findtext(ceb("returnInfo")) == rejected.return_info
    assert re.fullmatch(r"[0-9]{17}", answer.findtext(ceb("returnTime")) or "")
    assert answer.findtext(ceb("oriBizMessage")) == xml.ORI_BIZ_MESSAGE_NOTE
    assert b"<![CDATA[" in body
    assert ID_NUMBER.encode() not in body
    return answer


# --- The official samples -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kind", "count"),
    [("CEB311", "order", 6), ("CEB411", "payment", 10), ("CEB511", "waybill", 6), ("CEB621", "inventory", 10)],
)
def test_every_official_sample_parses_into_its_documents(message: str, kind: str, count: int) -> None:
    parsed = parse_message(sample(message), expected_message=f"{message}Message")

    assert parsed.message == f"{message}Message"
    assert parsed.kind == kind
    assert parsed.guid == "4CDE1CFD-EDED-46B1-946C-B8022E42FC94"
    assert parsed.version == "1.0"
    assert parsed.cop_code == "1101180326"
    assert parsed.dxp_mode == "DXP"
    assert len(parsed.documents) == count
    # The samples are signed (SM2-SM3); the signature is handed over, not judged here.
    assert parsed.signature is not None
    assert parsed.signature.tag == f"{{{DS_NS}}}Signature"
    spec = SPECS[kind]
    names = {f.name for f in spec.head}
    line_names = {f.name for f in spec.lines}
    for document in parsed.documents:
        assert set(document) - {"items"} <= names
        assert {f.name for f in spec.head if f.required} <= set(document)
        for item in document.get("items", []):
            assert set(item) <= line_names


def test_the_order_sample_maps_the_specs_spelling_to_json_names() -> None:
    parsed = parse_message(sample("CEB311"), expected_message="CEB311Message")

    order = parsed.documents[0]
    assert parsed.cop_name == "物流企业"
    assert parsed.dxp_id == "EXP2016522002580001"
    assert order["actual_paid"] == "19050"  # acturalPaid
    assert order["consignee_district"] == "072750"  # consigneeDistrict
    assert "acturalPaid" not in order
    assert order["order_no"] == "order20160321116421002"
    assert order["ebp_code"] == "1105910159"
    assert order["goods_value"] == "14000"
    assert order["buyer_id_number"] == ID_NUMBER
    assert order["consignee"] == "焦洪宇"
    assert order["app_time"] == "20160308112701"
    assert [item["gnum"] for item in order["items"]] == ["1", "2"]
    assert order["items"][1] == {
        "gnum": "2",
        "item_no": "AF001-002",
        "item_name": "v",
        "gmodel": "33mm",
        "item_describe": "v",
        "bar_code": "2345123",
        "unit": "007",
        "qty": "200",
        "price": "10",
        "total_price": "12000",
        "currency": "142",
        "country": "116",
        "note": "",  # an empty element is ""
    }


def test_the_payment_and_waybill_samples_keep_their_values() -> None:
    payment = parse_message(sample("CEB411"), expected_message="CEB411Message").documents[1]
    waybill = parse_message(sample("CEB511"), expected_message="CEB511Message").documents[1]

    assert payment["guid"] == "4CDE1CFD-EDED-46B1-946C-B8022E42FC95"
    assert payment["pay_transaction_id"] == "P0242250008"
    assert payment["amount_paid"] == "19050"
    assert payment["payer_id_number"] == "130625021345225322"
    assert payment["pay_time"] == "20160315153555"
    assert payment["note"] == ""
    assert "items" not in payment
    assert waybill["logistics_no"] == "L201603081138007"
    assert waybill["order_no"] == "order20160321116421003"
    assert waybill["weight"] == "4000"
    assert waybill["pack_no"] == "6000"
    assert waybill["consignee_telephone"] == "13936921298"
    assert "items" not in waybill


def test_the_inventory_sample_leaves_absent_optional_elements_out() -> None:
    documents = parse_message(sample("CEB621"), expected_message="CEB621Message").documents

    inventory = documents[-1]
    assert inventory["order_no"] == "order2016030811340008"
    assert inventory["app_status"] == "1"
    assert inventory["cop_no"] == "NBBH20160308006"
    assert inventory["pre_no"] == ""
    assert inventory["invt_no"] == ""
    assert inventory["trade_mode"] == "9610"
    assert inventory["traf_no"] == "MH730"
    assert inventory["gross_weight"] == "4000"
    assert inventory["country"] == "142"
    assert documents[0]["items"][0]["trade_country"] == "116"
    first, second = inventory["items"]
    assert "trade_country" not in first  # absent in the sample
    assert second["gname"] == "花王纸尿裤"
    assert second["item_record_no"] == "1210"
    assert second["qty2"] == "300"


def _schema_children(schema: etree._Element, name: str) -> list[tuple[str, bool]]:
    element = schema.find(f"{XS}element[@name='{name}']")
    assert element is not None, name
    sequence = element.find(f"{XS}complexType/{XS}sequence")
    assert sequence is not None
    return [(child.get("name", ""), child.get("minOccurs", "1") != "0") for child in sequence.iterfind(f"{XS}element")]


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_the_field_table_is_the_schemas_element_list(spec: DocumentSpec) -> None:
    schema = etree.parse(str(xml.SCHEMA_PATH)).getroot()

    assert _schema_children(schema, spec.head_element) == [(f.xml, f.required) for f in spec.head]
    if spec.line_element:
        assert _schema_children(schema, spec.line_element) == [(f.xml, f.required) for f in spec.lines]


# --- Refusals -------------------------------------------------------------------------------


def test_it_refuses_a_body_over_the_limit(settings: Settings) -> None:
    body = sample("CEB311")
    settings.CEB_XML_MAX_BYTES = len(body) - 1

    with pytest.raises(MessageTooLarge) as caught:
        parse_message(body, expected_message="CEB311Message")

    assert caught.value.status_code == 413
    assert caught.value.code == errors.CONTENT_TOO_LARGE
    assert str(len(body)) in caught.value.return_info
    assert_ceb900(caught.value, status=xml.STATUS_OTHER_FORMAT)
    settings.CEB_XML_MAX_BYTES = len(body)
    assert parse_message(body, expected_message="CEB311Message").documents


def test_the_default_limit_is_ten_mebibytes(settings: Settings) -> None:
    del settings.CEB_XML_MAX_BYTES

    assert xml.max_bytes() == 10 * 1024 * 1024


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="4CDE1CFD-EDED-46B1-946C-B8022E42FC94"
 version="1.0"><ceb:Order><ceb:OrderHead><ceb:note>&lol9;</ceb:note></ceb:OrderHead></ceb:Order>
</ceb:CEB311Message>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE ceb:CEB311Message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="4CDE1CFD-EDED-46B1-946C-B8022E42FC94"
 version="1.0"><ceb:Order><ceb:OrderHead><ceb:note>&xxe;</ceb:note></ceb:OrderHead></ceb:Order>
</ceb:CEB311Message>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_it_refuses_entity_declarations_without_resolving_them(body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(UnsafeXml) as caught:
        parse_message(body, expected_message="CEB311Message")

    assert time.perf_counter() - started < 0.5
    assert caught.value.code == codes.XML_DOCTYPE_FORBIDDEN
    assert caught.value.status_code == 400
    assert "lollol" not in caught.value.return_info
    assert "root:" not in caught.value.return_info
    answer = assert_ceb900(caught.value, status=xml.STATUS_OTHER_FORMAT)
    assert b"root:" not in etree.tostring(answer)


def test_it_refuses_a_doctype_hidden_in_another_encoding() -> None:
    # UTF-16 hides "<!DOCTYPE" from a byte search; the parsed tree still shows it.
    body = XXE.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>').decode().encode("utf-16")
    assert b"<!DOCTYPE" not in body

    with pytest.raises(UnsafeXml):
        parse_message(body, expected_message="CEB311Message")


def test_it_refuses_xml_that_is_not_well_formed() -> None:
    body = sample("CEB411").replace(b"</ceb:payCode>", b"</ceb:payCod>", 1)

    with pytest.raises(MalformedXml) as caught:
        parse_message(body, expected_message="CEB411Message")

    assert caught.value.code == codes.XML_MALFORMED
    assert caught.value.line == 10
    assert "not well-formed" in caught.value.return_info
    assert_ceb900(caught.value, status=xml.STATUS_MALFORMED)


def test_it_refuses_another_message_type_with_a_ceb900() -> None:
    with pytest.raises(WrongMessageType) as caught:
        parse_message(sample("CEB411"), expected_message="CEB311Message")

    assert caught.value.code == codes.XML_MESSAGE_TYPE
    assert "CEB311Message" in caught.value.return_info
    answer = assert_ceb900(caught.value, status=xml.STATUS_SCHEMA)
    assert answer.findtext(ceb("oriMessageType")) == "CEB411Message"
    assert answer.findtext(ceb("oriCopMsgId")) == "4CDE1CFD-EDED-46B1-946C-B8022E42FC94"


def test_it_refuses_a_root_outside_the_customs_namespace() -> None:
    body = sample("CEB511").replace(b"http://www.chinaport.gov.cn/ceb", b"urn:other", 1)

    with pytest.raises(WrongMessageType) as caught:
        parse_message(body, expected_message="CEB511Message")

    answer = assert_ceb900(caught.value, status=xml.STATUS_SCHEMA)
    assert answer.findtext(ceb("oriMessageType")) == "Unknown"


def test_a_schema_violation_names_line_and_element_but_never_the_value() -> None:
    # An ID number where an integer belongs: the schema error would quote it.
    body = sample("CEB311").replace(b"<ceb:gnum>1</ceb:gnum>", f"<ceb:gnum>{ID_NUMBER}</ceb:gnum>".encode(), 1)

    with pytest.raises(SchemaInvalid) as caught:
        parse_message(body, expected_message="CEB311Message")

    rejected = caught.value
    assert rejected.code == codes.XML_SCHEMA_INVALID
    assert rejected.status_code == 400
    assert rejected.extra == {"return_status": xml.STATUS_SCHEMA, "line": 38}
    assert rejected.line == 38
    assert rejected.element is not None
    assert rejected.element.endswith("ceb:OrderList[1]/ceb:gnum")
    assert "line 38, ceb:Order[1]/ceb:OrderList[1]/ceb:gnum: " in rejected.return_info
    assert ID_NUMBER not in rejected.return_info
    assert ID_NUMBER not in str(rejected.detail)
    assert [e.as_dict()["field"] for e in rejected.errors] == [rejected.element]
    answer = assert_ceb900(rejected, status=xml.STATUS_SCHEMA)
    assert answer.findtext(ceb("oriMessageType")) == "CEB311Message"


def test_a_missing_required_element_is_a_schema_violation() -> None:
    body = re.sub(rb"<ceb:acturalPaid>[^<]*</ceb:acturalPaid>", b"", sample("CEB311"), count=1)

    with pytest.raises(SchemaInvalid) as caught:
        parse_message(body, expected_message="CEB311Message")

    assert "ceb:Order[1]/ceb:OrderHead/ceb:currency" in caught.value.return_info  # where acturalPaid belongs
    assert "ceb:acturalPaid" in caught.value.return_info


def test_a_list_without_a_signature_fails_the_schema() -> None:
    # The schema makes ds:Signature mandatory on CEB621 (and CEB623).
    body = etree.tostring(without_signature(sample("CEB621")))

    with pytest.raises(SchemaInvalid) as caught:
        parse_message(body, expected_message="CEB621Message")

    assert "Signature" in caught.value.return_info


def _order_message(count: int) -> bytes:
    root = without_signature(sample("CEB311"))
    orders = root.findall(ceb("Order"))
    for extra in orders[1:]:
        root.remove(extra)
    for n in range(1, count):
        clone = copy.deepcopy(orders[0])
        order_no = clone.find(f"{ceb('OrderHead')}/{ceb('orderNo')}")
        assert order_no is not None
        order_no.text = f"order-{n:04d}"
        root.insert(n, clone)
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def test_a_hundred_document_message_parses_well_under_a_second() -> None:
    body = _order_message(100)
    xml.customs_schema()  # loaded once per thread; not part of a request's cost

    started = time.perf_counter()
    parsed = parse_message(body, expected_message="CEB311Message")
    elapsed = time.perf_counter() - started

    assert elapsed < 0.25, elapsed
    assert len(parsed.documents) == 100
    assert parsed.documents[0]["order_no"] == "order20160321116421002"
    assert parsed.documents[99]["order_no"] == "order-0099"
    assert all(len(d["items"]) == 2 for d in parsed.documents)


def test_a_hundred_and_one_documents_are_too_many() -> None:
    with pytest.raises(SchemaInvalid):
        parse_message(_order_message(101), expected_message="CEB311Message")


# --- Receipts -------------------------------------------------------------------------------

NOW = datetime.datetime(2026, 11, 25, 2, 3, 4, 567000, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("message", "answer", "element", "keys"),
    [
        ("CEB311", "CEB312Message", "OrderReturn", ["guid", "ebpCode", "ebcCode", "orderNo"]),
        ("CEB411", "CEB412Message", "PaymentReturn", ["guid", "payCode", "payTransactionId"]),
        ("CEB511", "CEB512Message", "LogisticsReturn", ["guid", "logisticsCode", "logisticsNo"]),
        (
            "CEB621",
            "CEB622Message",
            "InventoryReturn",
            ["guid", "customsCode", "ebpCode", "ebcCode", "agentCode", "copNo", "preNo"],
        ),
    ],
)
def test_a_receipt_answers_each_document_and_validates(
    message: str, answer: str, element: str, keys: list[str]
) -> None:
    parsed = parse_message(sample(message), expected_message=f"{message}Message")
    key_sets = [
        {**receipt_keys(message=parsed.message, document=document), "pre_no": xml.pre_no_for(n + 1)}
        for n, document in enumerate(parsed.documents)
    ]
    results = [
        DocumentResult.accepted_as(keys=k, document_id=n + 1)
        if n % 2 == 0
        else DocumentResult.refused(keys=k, code="actual_paid_mismatch", message="Paid differs", field="actual_paid")
        for n, k in enumerate(key_sets)
    ]

    body = receipt_xml(message=parsed.message, results=results, now=NOW)

    root = assert_valid(body)
    assert root.tag == ceb(answer)
    assert len(root.get("guid", "")) == 36
    returns = root.findall(ceb(element))
    assert len(returns) == len(parsed.documents)
    first = returns[0]
    assert [etree.QName(child).localname for child in first][: len(keys)] == keys
    assert first.findtext(ceb("returnStatus")) == "2"
    assert first.findtext(ceb("returnTime")) == "20261125100304567"  # China Standard Time
    assert first.findtext(ceb("returnInfo")) == "accepted id=1"
    assert returns[1].findtext(ceb("returnStatus")) == "-1"
    assert returns[1].findtext(ceb("returnInfo")) == "[actual_paid_mismatch] Paid differs; actual_paid"
    assert first.findtext(ceb("guid")) == parsed.documents[0]["guid"]


def test_a_list_return_without_a_cop_no_or_pre_no_still_validates() -> None:
    document = parse_message(sample("CEB621"), expected_message="CEB621Message").documents[0]
    keys = receipt_keys(message="CEB621", document={**document, "cop_no": ""})
    assert "cop_no" not in keys

    body = receipt_xml(
        message="CEB621",
        results=[DocumentResult(keys=keys, accepted=False, return_status="-621001", return_info="")],
        now=NOW,
    )

    returned = assert_valid(body).find(ceb("InventoryReturn"))
    assert returned is not None
    assert returned.findtext(ceb("preNo")) == xml.NO_PRE_NO
    assert returned.findtext(ceb("copNo")) == xml.NO_PRE_NO
    assert returned.findtext(ceb("returnInfo")) == "rejected"


def test_a_receipt_blanks_id_numbers_and_fits_the_schemas_lengths() -> None:
    document = parse_message(sample("CEB311"), expected_message="CEB311Message").documents[0]
    info = f"[payer_mismatch] payer {ID_NUMBER} is not the buyer; payer_id_number " + "x" * 2000

    body = receipt_xml(
        message="CEB311Message",
        results=[
            DocumentResult(
                keys={**receipt_keys(message="CEB311", document=document), "guid": "short"},
                accepted=False,
                return_status="-1",
                return_info=info,
            )
        ],
    )

    returned = assert_valid(body).find(ceb("OrderReturn"))
    assert returned is not None
    assert ID_NUMBER.encode() not in body
    assert len(returned.findtext(ceb("returnInfo")) or "") == 1000
    assert len(returned.findtext(ceb("guid")) or "") == 36  # a fresh guid for an unusable one


def test_the_official_receipt_samples_validate() -> None:
    assert_valid(sample("CEB312"))
    assert_valid(sample("CEB622"))
