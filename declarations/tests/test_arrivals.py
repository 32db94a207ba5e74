"""Arrival manifests (入库明细单, CEB711 → CEB712): a supervised site operator (role ``area``)
files the parcels it unloaded; each must be a waybill the single window holds. Refusals store
nothing; a manifest stored leaves signed for the operator, and customs' answer numbers it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from declarations.customs import arrivals, xml
from declarations.event_types import ARRIVAL_ANSWERED
from declarations.intake import codes
from declarations.models import ArrivalManifest, ArrivalManifestLine
from declarations.tests.helpers import LOGISTICS_CODE, Send, errors_of
from declarations.tests.parcels import parcel, submit
from single_window import services as hub
from single_window import tasks
from single_window.models import EnterpriseSigningKey, Event, InboxMessage, OutboxMessage, Park, PartnerKind, Role
from single_window.outbox import message_body
from single_window.signatures import usable_certificates, verify_message_signature
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, ApiKeyFactory, EnterpriseFactory, Persona, assert_problem
from tests.partner_webhooks import SigningPartner, new_message_id, post_webhook, register_partner, signed_headers

CUSTOMS_CODE = "CUSTOMS-TEST"
OPERATOR_CODE = "3301960006"
Q = f"{{{xml.CEB_NS}}}"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def operator_keys() -> KeyPair:
    return make_key_pair(common_name="Demo Site Operator")


@pytest.fixture
def customs(settings: Settings, db: None) -> SigningPartner:
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    settings.CUSTOMS_DXP_ID = "DXPENT0000TEST01"
    return register_partner(CUSTOMS_CODE, PartnerKind.CUSTOMS)


@pytest.fixture
def operator(park: Park, reference_data: None) -> Persona:
    enterprise = EnterpriseFactory.create(
        customs_code=OPERATOR_CODE, roles=[Role.AREA], name="示例监管场所经营有限公司", park=park
    )
    api_key, raw_key = ApiKeyFactory.issue(enterprise=enterprise)
    return Persona(enterprise=enterprise, api_key=api_key, raw_key=raw_key)


@pytest.fixture
def operator_client(operator: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(operator)


@pytest.fixture
def operator_key(operator: Persona, operator_keys: KeyPair) -> EnterpriseSigningKey:
    return hub.signing_key_register(
        enterprise=operator.enterprise,
        private_key_pem=operator_keys.private_key_text,
        certificate_pem=operator_keys.certificate_text,
        actor=TEST_ACTOR,
    )


@pytest.fixture
def waybill_nos(send: Send, customs: SigningPartner) -> list[str]:
    """Two waybills the single window holds, of the demo logistics enterprise."""
    numbers = []
    for n in (81, 82):
        docs = parcel(n)
        submit(send, docs, arrival=("waybill",))
        numbers.append(docs["waybill"]["logistics_no"])
    return numbers


def manifest(numbers: list[str], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cop_no": "RKD20261125000001",
        "customs_code": "2901",
        "operator_code": OPERATOR_CODE,
        "ie_flag": "I",
        "traf_mode": "5",
        "traf_no": "CA1234",
        "voyage_no": "20261125",
        "bill_no": "784-12345675",
        "logistics_code": LOGISTICS_CODE,
        "logistics_name": "示例物流有限公司",
        "unload_location": "A区3号库位",
        "lines": [{"gnum": index + 1, "logistics_no": number} for index, number in enumerate(numbers)],
    }
    body.update(changes)
    return body


def ceb711_messages() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(message_type=arrivals.CEB711).order_by("id"))


def nothing_stored() -> None:
    assert not ArrivalManifest.objects.exists()
    assert not ArrivalManifestLine.objects.exists()
    assert not ceb711_messages()


def test_an_operator_files_a_manifest_and_a_signed_ceb711_leaves(
    operator_client: APIClient, operator_key: EnterpriseSigningKey, waybill_nos: list[str]
) -> None:
    response = operator_client.post("/api/v1/arrivals", manifest(waybill_nos), format="json", HTTP_IDEMPOTENCY_KEY="a1")

    assert response.status_code == 201, response.content
    body = response.json()
    stored = ArrivalManifest.objects.get()
    assert (body["id"], body["status"], body["operator_code"]) == (stored.pk, "recorded", OPERATOR_CODE)
    assert [(line["gnum"], line["logistics_no"]) for line in body["lines"]] == [
        (1, waybill_nos[0]),
        (2, waybill_nos[1]),
    ]
    [message] = ceb711_messages()
    assert stored.message_id == message.pk
    root = xml.read_message(message_body(message), expected_message=arrivals.CEB711)  # schema-valid
    assert verify_message_signature(
        root=root, candidates=usable_certificates(enterprise=operator_key.enterprise)
    ).verified
    head = root.find(f"{Q}Delivery/{Q}DeliveryHead")
    assert head is not None
    assert (head.findtext(f"{Q}guid"), head.findtext(f"{Q}copNo"), head.findtext(f"{Q}operatorCode")) == (
        stored.guid,
        "RKD20261125000001",
        OPERATOR_CODE,
    )
    assert [e.findtext(f"{Q}logisticsNo") for e in root.iter(f"{Q}DeliveryList")] == waybill_nos

    replay = operator_client.post("/api/v1/arrivals", manifest(waybill_nos), format="json", HTTP_IDEMPOTENCY_KEY="a1")
    assert replay.status_code == 201
    assert ArrivalManifest.objects.count() == 1

    read = operator_client.get(f"/api/v1/arrivals/{stored.pk}")
    assert read.status_code == 200
    assert read.json()["guid"] == stored.guid


def test_someone_elses_operator_code_is_refused_and_nothing_is_stored(
    operator_client: APIClient, operator_key: EnterpriseSigningKey, waybill_nos: list[str]
) -> None:
    response = operator_client.post(
        "/api/v1/arrivals", manifest(waybill_nos, operator_code="3301960004"), format="json"
    )

    assert response.status_code == 400, response.content
    assert ("operator_code", codes.ARRIVAL_OPERATOR_NOT_CALLER) in errors_of(response.json())
    nothing_stored()


def test_a_waybill_the_single_window_does_not_hold_is_refused_and_nothing_is_stored(
    operator_client: APIClient, operator_key: EnterpriseSigningKey, waybill_nos: list[str]
) -> None:
    response = operator_client.post("/api/v1/arrivals", manifest([waybill_nos[0], "YT-NOBODY-HOLDS"]), format="json")

    assert response.status_code == 400, response.content
    assert errors_of(response.json()) == {("lines[1].logistics_no", codes.ARRIVAL_UNKNOWN_WAYBILL)}
    nothing_stored()


def test_an_enterprise_that_is_no_site_operator_is_refused(
    clients: dict[str, APIClient], waybill_nos: list[str]
) -> None:
    response = clients["logistics"].post(
        "/api/v1/arrivals", manifest(waybill_nos, operator_code=LOGISTICS_CODE), format="json"
    )

    assert response.status_code == 400, response.content
    assert ("operator_code", codes.ROLE_MISSING) in errors_of(response.json())
    nothing_stored()


def test_a_manifest_that_cannot_leave_signed_is_refused(operator_client: APIClient, waybill_nos: list[str]) -> None:
    response = operator_client.post("/api/v1/arrivals", manifest(waybill_nos), format="json")

    assert_problem(response, 409, codes.ARRIVAL_NOT_SENDABLE)
    nothing_stored()


def test_a_second_manifest_with_the_same_cop_no_is_a_duplicate(
    operator_client: APIClient, operator_key: EnterpriseSigningKey, waybill_nos: list[str]
) -> None:
    first = operator_client.post("/api/v1/arrivals", manifest(waybill_nos), format="json")
    second = operator_client.post("/api/v1/arrivals", manifest(waybill_nos[:1]), format="json")

    assert first.status_code == 201
    assert assert_problem(second, 409, codes.DUPLICATE)["existing_id"] == first.json()["id"]
    assert len(ceb711_messages()) == 1


def test_only_the_operator_reads_its_manifest(
    operator_client: APIClient,
    operator_key: EnterpriseSigningKey,
    waybill_nos: list[str],
    clients: dict[str, APIClient],
) -> None:
    created = operator_client.post("/api/v1/arrivals", manifest(waybill_nos), format="json").json()

    assert clients["logistics"].get(f"/api/v1/arrivals/{created['id']}").status_code == 404
    assert clients["outsider"].get(f"/api/v1/arrivals/{created['id']}").status_code == 404


# --- CEB712 in --------------------------------------------------------------------------------


def ceb712(status: str, *, rkd_no: str = "", at: str = "20261126090000") -> bytes:
    root = etree.Element(
        f"{Q}CEB712Message", {"guid": str(uuid.uuid4()).upper(), "version": "1.0"}, nsmap={"ceb": xml.CEB_NS}
    )
    element = etree.SubElement(root, f"{Q}DeliveryReturn")
    for name, value in (
        ("guid", str(uuid.uuid4()).upper()),
        ("customsCode", "2901"),
        ("operatorCode", OPERATOR_CODE),
        ("copNo", "RKD20261125000001"),
        ("preNo", "B20261126000000001"),
        ("rkdNo", rkd_no),
        ("returnStatus", status),
        ("returnTime", at + "000"),
        ("returnInfo", f"入库明细单回执 {status}"),
    ):
        if value:
            etree.SubElement(element, f"{Q}{name}").text = value
    assert xml.customs_schema().validate(root.getroottree()), xml.customs_schema().error_log
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def apply(customs: SigningPartner, body: bytes) -> InboxMessage:
    message_id = new_message_id()
    response = post_webhook(body, signed_headers(customs.secret, body, message_id=message_id))
    assert response.status_code in {200, 202}, response.content
    message = InboxMessage.objects.get(partner=customs.partner, message_id=message_id)
    tasks.apply_inbox_message(inbox_message_id=message.pk)
    message.refresh_from_db()
    return message


def test_customs_120_numbers_the_manifest_and_tells_the_operator_once(
    operator_client: APIClient,
    operator_key: EnterpriseSigningKey,
    waybill_nos: list[str],
    customs: SigningPartner,
) -> None:
    created = operator_client.post("/api/v1/arrivals", manifest(waybill_nos), format="json").json()

    apply(customs, ceb712("120", rkd_no="290120261126000001"))
    apply(customs, ceb712("100", at="20261126091000"))

    stored = ArrivalManifest.objects.get(pk=created["id"])
    assert (stored.status, stored.rkd_no, stored.return_status, stored.pre_no) == (
        "answered",
        "290120261126000001",
        "120",
        "B20261126000000001",
    )
    [event] = Event.objects.filter(type=ARRIVAL_ANSWERED)
    assert event.enterprise == operator_key.enterprise
    assert (event.payload["status"], event.payload["rkd_no"]) == ("answered", "290120261126000001")
    read = operator_client.get(f"/api/v1/arrivals/{stored.pk}").json()
    assert (read["status"], read["rkd_no"]) == ("answered", "290120261126000001")


def test_customs_refusal_refuses_the_manifest(
    operator_client: APIClient,
    operator_key: EnterpriseSigningKey,
    waybill_nos: list[str],
    customs: SigningPartner,
) -> None:
    operator_client.post("/api/v1/arrivals", manifest(waybill_nos), format="json")

    apply(customs, ceb712("-800001"))

    assert ArrivalManifest.objects.get().status == "refused"
