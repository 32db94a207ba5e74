"""Export documents as signed customs XML: read against the export schema (CEB900 otherwise),
the signature of the enterprise that sends them, the same rules as JSON, and customs' receipt
message as the answer."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from lxml import etree
from rest_framework.test import APIClient

from declarations.customs import xml
from declarations.export import examples, kinds
from declarations.export.spec import CANCELLATION, ExportSpec
from declarations.models import (
    ExportArrival,
    ExportList,
    ExportMasterBill,
    ExportOrder,
    ExportPaymentReceipt,
    ExportWaybill,
)
from declarations.tests.export.conftest import SENDER_OF, url
from single_window import services as hub
from single_window.models import InboundMessage, OutboxMessage, PartnerKind
from single_window.outbox import message_body
from single_window.signatures import sign_message
from tests.certificates import KeyPair
from tests.factories import TEST_ACTOR, Persona

pytestmark = pytest.mark.django_db

MODELS: dict[str, Any] = {
    "export_order": ExportOrder,
    "export_receipt": ExportPaymentReceipt,
    "export_waybill": ExportWaybill,
    "export_arrival": ExportArrival,
    "export_list": ExportList,
    "export_master_bill": ExportMasterBill,
}


def _q(name: str) -> str:
    return f"{{{xml.CEB_NS}}}{name}"


def _fill(parent: etree._Element, fields: Any, values: Mapping[str, Any]) -> None:
    for field in fields:
        value = values.get(field.name)
        if value is not None and value != "":
            etree.SubElement(parent, _q(field.xml)).text = str(value)


def message(kind: str, document: Mapping[str, Any], *, cop_code: str, keys: KeyPair | None) -> bytes:
    spec: ExportSpec = kinds.KINDS[kind].spec
    root = etree.Element(_q(spec.message), nsmap={"ceb": xml.CEB_NS})
    root.set("guid", str(uuid.uuid4()).upper())
    root.set("version", "1.0")
    element = etree.SubElement(root, _q(spec.element))
    _fill(etree.SubElement(element, _q(spec.head_element)) if spec.head_element else element, spec.head, document)
    for line in document.get("items", []):
        _fill(etree.SubElement(element, _q(spec.line_element)), spec.lines, line)
    transfer = etree.SubElement(root, _q("BaseTransfer"))
    for name, value in (("copCode", cop_code), ("copName", "x"), ("dxpMode", "DXP"), ("dxpId", "DXPENT0000000001")):
        etree.SubElement(transfer, _q(name)).text = value
    if keys is not None:
        root = sign_message(root=root, private_key_pem=keys.private_key_pem, certificate_pem=keys.certificate_pem)
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def post(client: APIClient, kind: str, body: bytes, **headers: Any) -> Any:
    return client.post(url(kind), body, content_type="application/xml", **headers)


def answer(response: Any, receipt_message: str) -> list[dict[str, str]]:
    root = xml.read_message(response.content, expected_message=receipt_message)  # valid against the schema
    return [{etree.QName(child).localname: child.text or "" for child in element} for element in root]


@pytest.mark.parametrize("kind", list(MODELS))
def test_each_document_is_taken_as_signed_xml_and_answered_with_its_receipt(
    kind: str, export_clients: dict[str, APIClient], export_parties: dict[str, Persona], keys: dict[str, KeyPair]
) -> None:
    sender = SENDER_OF[kind]
    if kind == "export_master_bill":  # a master bill groups lists
        lister = export_parties["agent"]
        post(
            export_clients["agent"],
            "export_list",
            message("export_list", examples.document("export_list"), cop_code=lister.code, keys=keys["agent"]),
        )
    body = message(kind, examples.document(kind), cop_code=export_parties[sender].code, keys=keys[sender])

    response = post(export_clients[sender], kind, body)

    assert response.status_code == 200, response.content[:1000]
    [result] = answer(response, kinds.KINDS[kind].spec.receipt_message)
    assert result["returnStatus"] == "2", result
    document = MODELS[kind].objects.order_by("-id").first()
    assert result["returnInfo"] == f"accepted id={document.pk}"
    assert document.source_message is not None
    assert InboundMessage.objects.filter(message_type=kinds.KINDS[kind].message).count() == 1


def test_a_message_the_export_schema_refuses_is_answered_with_a_ceb900_and_nothing_is_stored(
    export_clients: dict[str, APIClient], export_parties: dict[str, Persona], keys: dict[str, KeyPair]
) -> None:
    document = examples.document("export_order")
    del document["ebp_name"]
    body = message("export_order", document, cop_code=export_parties["ebp"].code, keys=keys["ebp"])

    response = post(export_clients["ebp"], "export_order", body)

    assert response.status_code == 400
    root = xml.read_message(response.content, expected_message="CEB900Message")
    assert root.findtext(f"{_q('MessageReturn')}/{_q('oriMessageType')}") == "CEB303Message"
    assert not ExportOrder.objects.exists()
    assert not InboundMessage.objects.exists()


def test_an_import_message_sent_to_an_export_endpoint_is_refused_whole(export_clients: dict[str, APIClient]) -> None:
    body = (
        b'<?xml version="1.0"?><ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="x" version="1.0"/>'
    )

    response = post(export_clients["ebp"], "export_order", body)

    assert response.status_code == 400
    assert b"CEB900Message" in response.content


def test_an_unsigned_message_is_refused_document_by_document(
    export_clients: dict[str, APIClient], export_parties: dict[str, Persona], keys: dict[str, KeyPair]
) -> None:
    body = message("export_list", examples.document("export_list"), cop_code=export_parties["agent"].code, keys=None)

    response = post(export_clients["agent"], "export_list", body)

    assert response.status_code == 200
    [result] = answer(response, "CEB604Message")
    assert result["returnStatus"] == "-621029"
    assert not ExportList.objects.exists()


def test_a_document_under_another_enterprises_code_is_refused_even_signed(
    export_clients: dict[str, APIClient], outsider: Persona, keys: dict[str, KeyPair]
) -> None:
    body = message("export_waybill", examples.document("export_waybill"), cop_code=outsider.code, keys=keys["outsider"])

    response = post(export_clients["outsider"], "export_waybill", body)

    [result] = answer(response, "CEB506Message")
    assert result["returnStatus"] == "-1"
    assert "export_sender_not_party" in result["returnInfo"]
    assert not ExportWaybill.objects.exists()


def test_a_signature_of_another_enterprise_does_not_verify_for_the_caller(
    export_clients: dict[str, APIClient], export_parties: dict[str, Persona], keys: dict[str, KeyPair]
) -> None:
    body = message(
        "export_waybill",
        examples.document("export_waybill"),
        cop_code=export_parties["logistics"].code,
        keys=keys["ebp"],
    )

    response = post(export_clients["logistics"], "export_waybill", body)

    [result] = answer(response, "CEB506Message")
    assert result["returnStatus"] == "-621029"
    assert not ExportWaybill.objects.exists()


def test_the_same_message_again_with_its_idempotency_key_replays_the_receipt(
    export_clients: dict[str, APIClient], export_parties: dict[str, Persona], keys: dict[str, KeyPair]
) -> None:
    body = message(
        "export_order", examples.document("export_order"), cop_code=export_parties["ebp"].code, keys=keys["ebp"]
    )

    first = post(export_clients["ebp"], "export_order", body, HTTP_IDEMPOTENCY_KEY="xml-1")
    again = post(export_clients["ebp"], "export_order", body, HTTP_IDEMPOTENCY_KEY="xml-1")

    assert again.content == first.content
    assert ExportOrder.objects.count() == 1


def test_the_same_order_again_without_a_key_is_a_duplicate_with_customs_code(
    export_clients: dict[str, APIClient], export_parties: dict[str, Persona], keys: dict[str, KeyPair]
) -> None:
    body = message(
        "export_order", examples.document("export_order"), cop_code=export_parties["ebp"].code, keys=keys["ebp"]
    )
    post(export_clients["ebp"], "export_order", body)

    again = post(export_clients["ebp"], "export_order", body)

    [result] = answer(again, "CEB304Message")
    assert result["returnStatus"] == "-301010"
    assert ExportOrder.objects.count() == 1


def test_a_new_version_in_xml_replaces_the_document_by_its_key(
    export_clients: dict[str, APIClient], export_parties: dict[str, Persona], keys: dict[str, KeyPair]
) -> None:
    code, signer = export_parties["ebp"].code, keys["ebp"]
    post(
        export_clients["ebp"],
        "export_order",
        message("export_order", examples.document("export_order"), cop_code=code, keys=signer),
    )
    changed = examples.document("export_order", app_type="2", app_time="20261203102000", note="二版 second version")

    response = post(export_clients["ebp"], "export_order", message("export_order", changed, cop_code=code, keys=signer))

    [result] = answer(response, "CEB304Message")
    assert result["returnStatus"] == "2"
    order = ExportOrder.objects.get()
    assert order.version == 2
    assert order.note == "二版 second version"


def test_the_agent_cancels_a_released_list_with_its_own_signed_ceb605(
    export_clients: dict[str, APIClient], export_parties: dict[str, Persona], keys: dict[str, KeyPair]
) -> None:
    agent = export_parties["agent"]
    post(
        export_clients["agent"],
        "export_list",
        message("export_list", examples.document("export_list"), cop_code=agent.code, keys=keys["agent"]),
    )
    export_list = ExportList.objects.get()
    ExportList.objects.filter(pk=export_list.pk).update(status="released", invt_no="29012026E000000001")
    cancel = {
        "guid": "5C2E9D0A-1B3C-4D5E-6F70-8192A3B4C5D6",
        "app_type": "1",
        "app_time": "20261203190000",
        "app_status": "2",
        "customs_code": "2901",
        "cop_no": "CX20261203000001",
        "invt_no": "29012026E000000001",
        "reason": "买家取消 The buyer cancelled",
        "agent_code": agent.code,
        "agent_name": examples.LIST["agent_name"],
        "ebc_code": examples.EBC_CODE,
        "ebc_name": examples.LIST["ebc_name"],
    }
    root = etree.Element(_q(CANCELLATION.message), nsmap={"ceb": xml.CEB_NS})
    root.set("guid", str(uuid.uuid4()).upper())
    root.set("version", "1.0")
    _fill(etree.SubElement(root, _q(CANCELLATION.element)), CANCELLATION.head, cancel)
    transfer = etree.SubElement(root, _q("BaseTransfer"))
    for name, value in (("copCode", agent.code), ("copName", "x"), ("dxpMode", "DXP"), ("dxpId", "DXPENT0000000001")):
        etree.SubElement(transfer, _q(name)).text = value
    signed = sign_message(
        root=root, private_key_pem=keys["agent"].private_key_pem, certificate_pem=keys["agent"].certificate_pem
    )

    response = export_clients["agent"].post(
        f"/api/v1/export/lists/{export_list.pk}/cancel",
        etree.tostring(signed, xml_declaration=True, encoding="UTF-8"),
        content_type="application/xml",
    )

    assert response.status_code == 200, response.content[:1000]
    [result] = answer(response, "CEB606Message")
    assert result["returnStatus"] == "2", result
    cancellation = export_list.cancellations.get()
    assert (cancellation.guid, cancellation.cop_no) == (cancel["guid"], cancel["cop_no"])


def test_a_list_the_agent_signed_itself_alone_in_its_message_is_forwarded_byte_for_byte(
    export_clients: dict[str, APIClient],
    export_parties: dict[str, Persona],
    keys: dict[str, KeyPair],
    settings: Any,
) -> None:
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = "CUSTOMS-TEST"
    hub.partner_register(code="CUSTOMS-TEST", name="Test customs", kind=PartnerKind.CUSTOMS, actor=TEST_ACTOR)
    for kind in ("export_order", "export_receipt", "export_waybill"):
        sender = SENDER_OF[kind]
        post(
            export_clients[sender],
            kind,
            message(kind, examples.document(kind), cop_code=export_parties[sender].code, keys=keys[sender]),
        )
    # The agent registered its certificate only (no signing key): anything but forwarding would fail.
    body = message(
        "export_list", examples.document("export_list"), cop_code=export_parties["agent"].code, keys=keys["agent"]
    )

    post(export_clients["agent"], "export_list", body)

    export_list = ExportList.objects.get()
    assert export_list.status == "declared", export_list.customs_note
    [sent] = OutboxMessage.objects.filter(destination_kind="customs", message_type="CEB603Message")
    assert message_body(sent) == body
