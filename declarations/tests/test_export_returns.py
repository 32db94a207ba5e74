"""Export returns (CEB213 → CEB214) and the site operator's tally (CEB215 → CEB216): only of a
list customs released, never more than the list declared, signed, answered."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from declarations.customs import xml
from declarations.export import returns, returns_xml
from declarations.models import ExportList, ExportListStatus
from declarations.models.export_returns import ExportReturn, ExportReturnItem, ExportReturnTally
from declarations.tests.export_summary_support import ceb214, ceb216, deliver, make_list
from single_window import services as hub
from single_window.models import EnterpriseSigningKey, Event, OutboxMessage, PartnerKind, Role
from single_window.outbox import message_body
from single_window.signatures import sign_message, usable_certificates, verify_message_signature
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona, assert_problem, persona
from tests.partner_webhooks import SigningPartner, register_partner

CUSTOMS_CODE = "CUSTOMS-TEST"
URL = "/api/v1/export/returns"
Q = f"{{{xml.CEB_NS}}}"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def owner_keys() -> KeyPair:
    return make_key_pair(common_name="Owner Seller")


@pytest.fixture(scope="module")
def operator_keys() -> KeyPair:
    return make_key_pair(common_name="Site Operator")


@pytest.fixture
def customs(settings: Settings, db: None) -> SigningPartner:
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    return register_partner(CUSTOMS_CODE, PartnerKind.CUSTOMS)


@pytest.fixture
def owner_key(owner: Persona, owner_keys: KeyPair) -> EnterpriseSigningKey:
    return hub.signing_key_register(
        enterprise=owner.enterprise,
        private_key_pem=owner_keys.private_key_text,
        certificate_pem=owner_keys.certificate_text,
        actor=TEST_ACTOR,
    )


@pytest.fixture
def operator(db: None, operator_keys: KeyPair) -> Persona:
    who = persona(roles=[Role.AREA], name="Site Operator Ltd")
    hub.signing_key_register(
        enterprise=who.enterprise,
        private_key_pem=operator_keys.private_key_text,
        certificate_pem=operator_keys.certificate_text,
        actor=TEST_ACTOR,
    )
    return who


@pytest.fixture
def released(owner: Persona, partner: Persona) -> ExportList:
    return make_list(
        ebc=owner.enterprise,
        agent=partner.enterprise,
        items=[("6109100010", "棉T恤", "3", "29.85"), ("6204420090", "连衣裙", "1", "35.55")],
    )


def request_for(export_list: ExportList, *, cop_no: str = "TH0001", **changes: Any) -> dict[str, Any]:
    item = export_list.items.get(gnum=1)
    body: dict[str, Any] = {
        "invt_no": export_list.invt_no,
        "cop_no": cop_no,
        "app_type": "1",
        "app_time": "20261205093000",
        "customs_code": "2901",
        "logistics_code": export_list.logistics_code,
        "logistics_name": export_list.logistics_name,
        "logistics_no": export_list.logistics_no,
        "bill_no": export_list.logistics_no,
        "traf_mode": "5",
        "traf_name": "CA1234",
        "port_code": "2901",
        "reason": "买家拒收",
        "country": "502",
        "voyage_no": "CA1234/20261205",
        "items": [
            {
                "gnum": 1,
                "gcode": item.gcode,
                "gname": item.gname,
                "gmodel": item.gmodel,
                "qty": "2",
                "unit": item.unit,
                "qty1": "0.2",
                "unit1": item.unit1,
            }
        ],
    }
    body.update(changes)
    return body


def ceb213s() -> list[etree._Element]:
    rows = OutboxMessage.objects.filter(message_type=returns_xml.CEB213).order_by("id")
    return [xml.read_message(message_body(row), expected_message=returns_xml.CEB213) for row in rows]


@pytest.mark.usefixtures("customs", "owner_key")
def test_a_return_of_a_released_list_is_stored_signed_and_sent(
    released: ExportList,
    owner: Persona,
    client_for: Callable[[Persona], APIClient],
) -> None:
    response = client_for(owner).post(URL, request_for(released), format="json", HTTP_IDEMPOTENCY_KEY="r-1")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["trade_mode"], body["invt_no"], body["agent_code"]) == (
        "sent",
        "9661",
        released.invt_no,
        owner.code,
    )
    assert [(i["gnum"], i["qty"], i["qty1"]) for i in body["items"]] == [(1, "2", "0.2")]
    [root] = ceb213s()
    head = root.find(f"{Q}InvtRefund/{Q}InvtRefundHead")
    assert head is not None
    assert (head.findtext(f"{Q}invtNo"), head.findtext(f"{Q}tradeMode"), head.findtext(f"{Q}ieFlag")) == (
        released.invt_no,
        "9661",
        "I",
    )
    assert head.findtext(f"{Q}coElNo") == "TH0001"
    assert verify_message_signature(root=root, candidates=usable_certificates(enterprise=owner.enterprise)).verified


@pytest.mark.usefixtures("customs", "owner_key")
def test_more_than_the_list_declared_is_refused_per_line_and_nothing_is_stored(
    released: ExportList,
    owner: Persona,
    client_for: Callable[[Persona], APIClient],
) -> None:
    client = client_for(owner)
    assert client.post(URL, request_for(released, cop_no="TH-A"), format="json").status_code == 201
    over = request_for(released, cop_no="TH-B")
    over["items"][0]["qty"] = "1.00001"  # 3 declared, 2 already returned
    over["items"][0]["qty1"] = "0.1"  # exactly what remains of the legal quantity
    over["items"][0]["gname"] = "别的商品"

    response = client.post(URL, over, format="json")

    problem = assert_problem(response, 400, "validation_failed")
    assert {(e["field"], e["code"]) for e in problem["errors"]} == {
        ("items[0].qty", "export_return_qty_exceeds_list"),
        ("items[0].gname", "export_return_line_mismatch"),
    }
    assert ExportReturn.objects.count() == 1
    assert OutboxMessage.objects.filter(message_type=returns_xml.CEB213).count() == 1


@pytest.mark.usefixtures("owner_key")
def test_a_refused_return_gives_its_quantity_back_and_may_be_changed_later_only(
    released: ExportList,
    owner: Persona,
    customs: SigningPartner,
    client_for: Callable[[Persona], APIClient],
) -> None:
    client = client_for(owner)
    first = client.post(URL, request_for(released), format="json").json()
    deliver(customs, ceb214(agent_code=owner.code, cop_no="TH0001", invt_no=released.invt_no, status="100"))
    assert ExportReturn.objects.get().status == "refused"

    stale = client.post(URL, request_for(released, app_type="2"), format="json")
    change = request_for(released, app_type="2", app_time="20261205100000")
    change["items"][0]["qty"] = "3"
    changed = client.post(URL, change, format="json")

    assert_problem(stale, 409, "export_return_stale_app_time")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["id"], changed.json()["version"], changed.json()["status"]) == (first["id"], 2, "sent")
    assert list(ExportReturnItem.objects.values_list("qty", flat=True)) == [3]
    assert_problem(
        client.post(URL, request_for(released, app_type="2", app_time="20261205110000"), format="json"),
        409,
        "export_return_change_not_allowed",
    )
    assert_problem(client.post(URL, request_for(released), format="json"), 409, "export_return_duplicate")


@pytest.mark.parametrize("state", [ExportListStatus.ACCEPTED, ExportListStatus.CANCELLED])
@pytest.mark.usefixtures("customs", "owner_key")
def test_a_list_customs_did_not_release_can_not_be_returned(
    state: str,
    owner: Persona,
    partner: Persona,
    client_for: Callable[[Persona], APIClient],
) -> None:
    export_list = make_list(ebc=owner.enterprise, agent=partner.enterprise, status=state)

    response = client_for(owner).post(URL, request_for(export_list), format="json")

    problem = assert_problem(response, 409, "export_return_not_allowed_in_state")
    assert problem["list_status"] == state
    assert ExportReturn.objects.count() == 0


@pytest.mark.usefixtures("customs", "owner_key")
def test_a_special_zone_list_returns_under_1261_only(
    owner: Persona,
    partner: Persona,
    client_for: Callable[[Persona], APIClient],
) -> None:
    zone = make_list(ebc=owner.enterprise, agent=partner.enterprise, trade_mode="1210")

    wrong = client_for(owner).post(URL, request_for(zone, trade_mode="9661"), format="json")
    right = client_for(owner).post(URL, request_for(zone), format="json")

    assert_problem(wrong, 400, "export_return_trade_mode_mismatch")
    assert right.json()["trade_mode"] == "1261"


@pytest.mark.usefixtures("customs", "owner_key")
def test_an_outsider_sees_no_list_and_no_return(
    released: ExportList,
    owner: Persona,
    outsider: Persona,
    client_for: Callable[[Persona], APIClient],
) -> None:
    made = client_for(owner).post(URL, request_for(released), format="json").json()

    assert_problem(client_for(outsider).post(URL, request_for(released, cop_no="X"), format="json"), 404, "not_found")
    assert_problem(client_for(outsider).get(f"{URL}/{made['id']}"), 404, "not_found")
    assert client_for(outsider).get(URL).json()["results"] == []
    assert client_for(owner).get(f"{URL}/{made['id']}").status_code == 200
    assert ExportReturn.objects.count() == 1


def test_without_a_signing_key_the_return_is_refused_and_not_stored(
    released: ExportList, owner: Persona, customs: SigningPartner, client_for: Callable[[Persona], APIClient]
) -> None:
    response = client_for(owner).post(URL, request_for(released), format="json")

    assert_problem(response, 409, "export_return_not_sendable")
    assert ExportReturn.objects.count() == 0


@pytest.mark.usefixtures("owner_key")
def test_customs_answers_move_the_return_and_tell_the_parties(
    released: ExportList,
    owner: Persona,
    customs: SigningPartner,
    client_for: Callable[[Persona], APIClient],
) -> None:
    client_for(owner).post(URL, request_for(released), format="json")

    for status in ("2", "120", "800", "100"):
        deliver(
            customs,
            ceb214(
                agent_code=owner.code,
                cop_no="TH0001",
                invt_no=released.invt_no,
                status=status,
                at=f"2026120509{status:0>4}",
            ),
        )

    export_return = ExportReturn.objects.get()
    assert (export_return.status, export_return.return_status) == ("released", "800")  # a late 100 changes nothing
    assert [e.payload["status"] for e in Event.objects.filter(type=returns.RETURN_ANSWERED).order_by("id")] == [
        "entered",
        "released",
    ]


@pytest.mark.usefixtures("customs", "owner_key")
def test_a_signed_ceb213_is_taken_as_xml_and_forwarded_as_it_came(
    released: ExportList,
    owner: Persona,
    owner_keys: KeyPair,
    client_for: Callable[[Persona], APIClient],
) -> None:
    data = request_for(released)
    head = {
        **{k: v for k, v in data.items() if k != "items"},
        "guid": xml.new_guid(),
        "app_status": "2",
        "ie_flag": "I",
    }
    head.update(
        ebp_code=released.ebp_code, ebp_name=released.ebp_name, ebc_code=released.ebc_code, ebc_name=released.ebc_name
    )
    head.update(agent_code=owner.code, agent_name=owner.enterprise.name, trade_mode="9661")
    root = returns_xml.refund_message(
        head=head, lines=data["items"], transfer=returns_xml.Transfer(cop_code=owner.code, cop_name="o", dxp_id="DXP1")
    )
    signed = sign_message(
        root=root,
        private_key_pem=owner_keys.private_key_text.encode(),
        certificate_pem=owner_keys.certificate_text.encode(),
    )
    body = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    unsigned = etree.tostring(copy.deepcopy(root), xml_declaration=True, encoding="UTF-8")

    taken = client_for(owner).post(URL, body, content_type="application/xml")
    refused = client_for(owner).post(URL, unsigned.replace(b"TH0001", b"TH0002"), content_type="application/xml")

    assert taken.status_code == 200
    answer = etree.fromstring(taken.content)
    assert answer.findtext(f"{Q}RefundReturn/{Q}returnStatus") == "2"
    assert etree.fromstring(refused.content).findtext(f"{Q}RefundReturn/{Q}returnStatus") == "-625005"
    stored = ExportReturn.objects.get()
    assert (stored.cop_no, stored.guid) == ("TH0001", head["guid"])
    assert message_body(OutboxMessage.objects.get(message_type=returns_xml.CEB213)) == body


@pytest.mark.usefixtures("owner_key")
def test_the_site_operators_tally_is_sent_and_concluded(
    released: ExportList,
    owner: Persona,
    operator: Persona,
    customs: SigningPartner,
    client_for: Callable[[Persona], APIClient],
) -> None:
    client_for(owner).post(URL, request_for(released), format="json")
    tally_body = {
        "cop_no": "LH0001",
        "app_time": "20261206080000",
        "customs_code": "2901",
        "logistics_code": released.logistics_code,
        "logistics_no": released.logistics_no,
        "location": "退货区 B-07",
    }

    unknown = client_for(operator).post(f"{URL}/tallies", {**tally_body, "logistics_no": "NOPE"}, format="json")
    made = client_for(operator).post(f"{URL}/tallies", tally_body, format="json")

    assert_problem(unknown, 400, "export_tally_unknown_return")
    assert made.status_code == 201, made.content
    [row] = OutboxMessage.objects.filter(message_type=returns_xml.CEB215)
    root = xml.read_message(message_body(row), expected_message=returns_xml.CEB215)
    assert root.findtext(f"{Q}InvtRefundDetail/{Q}operatorCode") == operator.code
    deliver(
        customs,
        ceb216(
            operator_code=operator.code,
            logistics_code=released.logistics_code,
            logistics_no=released.logistics_no,
            cop_no="LH0001",
            status="399",
        ),
    )
    tally = ExportReturnTally.objects.get()
    assert (tally.status, tally.return_status) == ("concluded", "399")
    assert {e.enterprise_id for e in Event.objects.filter(type=returns.TALLY_ANSWERED)} == {
        operator.enterprise.pk,
        owner.enterprise.pk,
    }
    detail = client_for(owner).get(f"{URL}/{tally.export_return_id}").json()
    assert [t["status"] for t in detail["tallies"]] == ["concluded"]
