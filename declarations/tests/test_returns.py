"""Return requests (CEB625 → CEB626): the declaring agent returns a released list, whole or
some lines, within 30 days of its release; customs enters, concludes or refuses it, and what it
concluded goes back to the buyer's annual quota, once. The list stays released throughout.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from lxml import etree
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from declarations.customs import gateway, xml
from declarations.customs.spec import INVENTORY_RETURN, INVENTORY_RETURN_LINE
from declarations.intake import codes
from declarations.models import (
    Inventory,
    InventoryReturn,
    InventoryReturnItem,
    InventoryStatus,
    QuotaReservation,
    TaxEstimate,
)
from declarations.tests.helpers import Send
from declarations.tests.parcels import formula, list_of, parcel, quota, receipt, submit
from single_window import services as hub
from single_window import tasks
from single_window.models import EnterpriseSigningKey, Event, InboxMessage, OutboxMessage, PartnerKind
from single_window.outbox import message_body
from single_window.signatures import sign_message, usable_certificates, verify_message_signature
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona, assert_problem
from tests.partner_webhooks import SigningPartner, new_message_id, post_webhook, register_partner, signed_headers

CUSTOMS_CODE = "CUSTOMS-TEST"
INVT_NO = "29012026I000000042"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def agent_keys() -> KeyPair:
    return make_key_pair(common_name="Demo Customs Broker")


@pytest.fixture
def customs(settings: Settings, db: None) -> SigningPartner:
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    settings.CUSTOMS_DXP_ID = "DXPENT0000TEST01"
    return register_partner(CUSTOMS_CODE, PartnerKind.CUSTOMS)


@pytest.fixture
def agent_signing_key(agent: Persona, agent_keys: KeyPair) -> EnterpriseSigningKey:
    return hub.signing_key_register(
        enterprise=agent.enterprise,
        private_key_pem=agent_keys.private_key_text,
        certificate_pem=agent_keys.certificate_text,
        actor=TEST_ACTOR,
    )


def _release(inventory: Inventory, at: datetime.datetime) -> Inventory:
    receipt(inventory, "120", at)
    receipt(inventory, "800", at + datetime.timedelta(seconds=1))
    Inventory.objects.filter(pk=inventory.pk).update(invt_no=INVT_NO)
    inventory.refresh_from_db()
    return inventory


@pytest.fixture
def release(send: Send, customs: SigningPartner, agent_signing_key: EnterpriseSigningKey) -> Callable[..., Inventory]:
    """``release(days_ago=...)``: a list of two lines (2 tins and 1 tin of formula), matched,
    declared and released that many days ago."""

    def make(days_ago: float = 1) -> Inventory:
        docs = parcel(42, goods=[formula("200.00", qty="2"), formula("100.00")])
        submit(send, docs)
        return _release(list_of(docs), timezone.now() - datetime.timedelta(days=days_ago))

    return make


@pytest.fixture
def released(release: Callable[..., Inventory]) -> Inventory:
    return release()


def returns_url(inventory: Inventory) -> str:
    return f"/api/v1/inventories/{inventory.pk}/returns"


def estimate_value(inventory: Inventory, gnum: int) -> Decimal:
    value: Decimal = TaxEstimate.objects.get(inventory=inventory).items.get(gnum=gnum).dutiable_value
    return value


def ceb625_messages() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(message_type=gateway.CEB625).order_by("id"))


def nothing_stored() -> None:
    assert not InventoryReturn.objects.exists()
    assert not InventoryReturnItem.objects.exists()
    assert not ceb625_messages()


# --- Filing ----------------------------------------------------------------------------------------


def test_the_agent_returns_the_whole_list_and_a_signed_ceb625_leaves(
    released: Inventory, clients: dict[str, APIClient], agent_signing_key: EnterpriseSigningKey
) -> None:
    response = clients["agent"].post(returns_url(released), {"reason": "买家退货"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    stored = InventoryReturn.objects.get()
    assert (body["id"], body["status"], body["whole_list"]) == (stored.pk, "sent", True)
    assert [(i.gnum, i.qty) for i in stored.items.all()] == [(1, Decimal(2)), (2, Decimal(1))]
    assert stored.dutiable_value == TaxEstimate.objects.get(inventory=released).dutiable_total
    assert body["dutiable_value"] == str(stored.dutiable_value)
    [message] = ceb625_messages()
    root = xml.read_message(message_body(message), expected_message=gateway.CEB625)  # schema-valid
    check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=agent_signing_key.enterprise))
    assert check.verified
    head = root.find(f"{{{xml.CEB_NS}}}InvtRefund/{{{xml.CEB_NS}}}InvtRefundHead")
    assert head is not None
    assert (head.findtext(f"{{{xml.CEB_NS}}}invtNo"), head.findtext(f"{{{xml.CEB_NS}}}guid")) == (INVT_NO, stored.guid)
    released.refresh_from_db()
    assert released.status == InventoryStatus.RELEASED


def test_a_partial_return_takes_its_share_of_the_dutiable_value_and_limits_the_next(
    released: Inventory, clients: dict[str, APIClient]
) -> None:
    first = clients["agent"].post(
        returns_url(released), {"reason": "破损", "items": [{"gnum": 1, "qty": "1"}]}, format="json"
    )

    assert first.status_code == 201, first.content
    stored = InventoryReturn.objects.get()
    expected = (estimate_value(released, 1) / 2).quantize(Decimal("0.01"))
    assert (stored.whole_list, stored.dutiable_value) == (False, expected)
    # One tin of line 1 remains: two more are refused, the one is taken.
    over = clients["agent"].post(
        returns_url(released), {"reason": "破损", "items": [{"gnum": 1, "qty": "2"}]}, format="json"
    )
    body = assert_problem(over, 400, "validation_failed")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("items[0].qty", codes.RETURN_QTY_EXCEEDS_REMAINING)]
    assert InventoryReturn.objects.count() == 1
    listed = clients["agent"].get(returns_url(released))
    assert [r["id"] for r in listed.json()] == [stored.pk]


def test_a_return_past_30_days_of_release_is_refused_and_nothing_is_stored(
    release: Callable[..., Inventory], clients: dict[str, APIClient]
) -> None:
    inventory = release(days_ago=31)

    response = clients["agent"].post(returns_url(inventory), {"reason": "买家退货"}, format="json")

    body = assert_problem(response, 409, codes.RETURN_WINDOW_CLOSED)
    assert body["errors"][0]["code"] == codes.RETURN_WINDOW_CLOSED
    assert "released_at" in body
    nothing_stored()


def test_lines_that_are_unknown_zero_or_over_the_declared_quantity_are_refused_together(
    released: Inventory, clients: dict[str, APIClient]
) -> None:
    items = [{"gnum": 7, "qty": "1"}, {"gnum": 1, "qty": "3"}, {"gnum": 2, "qty": "0"}]

    response = clients["agent"].post(returns_url(released), {"reason": "x", "items": items}, format="json")

    body = assert_problem(response, 400, "validation_failed")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("items[0].gnum", codes.RETURN_UNKNOWN_GNUM),
        ("items[1].qty", codes.RETURN_QTY_EXCEEDS_REMAINING),
        ("items[2].qty", codes.RETURN_QTY_NOT_POSITIVE),
    ]
    nothing_stored()


@pytest.mark.parametrize("who", ["ebc", "ebp", "outsider"])
def test_anyone_but_the_declaring_agent_gets_the_404_of_a_list_that_does_not_exist(
    released: Inventory, clients: dict[str, APIClient], who: str
) -> None:
    filed = clients[who].post(returns_url(released), {"reason": "x"}, format="json")
    read = clients[who].get(returns_url(released))
    missing = clients["agent"].post("/api/v1/inventories/999999/returns", {"reason": "x"}, format="json")

    assert_problem(filed, 404, "not_found")
    assert_problem(read, 404, "not_found")
    assert json.loads(filed.content)["detail"] == json.loads(missing.content)["detail"]
    nothing_stored()


def test_a_list_not_released_cannot_be_returned(
    send: Send, customs: SigningPartner, clients: dict[str, APIClient]
) -> None:
    docs = parcel(43)
    submit(send, docs)

    response = clients["agent"].post(returns_url(list_of(docs)), {"reason": "x"}, format="json")

    assert_problem(response, 409, codes.RETURN_NOT_ALLOWED)
    nothing_stored()


# --- Customs XML ------------------------------------------------------------------------------------


def ceb625(inventory: Inventory, keys: KeyPair, lines: list[tuple[int, str]], **changes: str) -> bytes:
    """A CEB625 of ``inventory``, signed with ``keys``: the head as the spec lists it."""
    q = f"{{{xml.CEB_NS}}}"
    root = etree.Element(
        f"{q}CEB625Message", {"guid": str(uuid.uuid4()).upper(), "version": "1.0"}, nsmap={"ceb": xml.CEB_NS}
    )
    refund = etree.SubElement(root, f"{q}InvtRefund")
    head = etree.SubElement(refund, f"{q}InvtRefundHead")
    values: dict[str, str] = {
        "guid": str(uuid.uuid4()).upper(),
        "app_type": "1",
        "app_time": timezone.localtime().strftime("%Y%m%d%H%M%S"),
        "app_status": "2",
        "buyer_id_number": "110101199003077777",
        "reason": "买家退货 XML",
    }
    for field in INVENTORY_RETURN:
        text = changes.get(field.name, values.get(field.name, str(getattr(inventory, field.name, "") or "")))
        if text or field.required:
            etree.SubElement(head, f"{q}{field.xml}").text = text
    items = {item.gnum: item for item in inventory.items.all()}
    for gnum, qty in lines:
        line = etree.SubElement(refund, f"{q}InvtRefundList")
        item = items[gnum]
        for field in INVENTORY_RETURN_LINE:
            text = {"qty": qty}.get(field.name, str(getattr(item, field.name, "") or ""))
            if text or field.required:
                etree.SubElement(line, f"{q}{field.xml}").text = text
    transfer = etree.SubElement(root, f"{q}BaseTransfer")
    for name, value in (("copCode", inventory.agent_code), ("copName", "agent"), ("dxpMode", "DXP"), ("dxpId", "X")):
        etree.SubElement(transfer, f"{q}{name}").text = value
    signed = sign_message(root=root, private_key_pem=keys.private_key_pem, certificate_pem=keys.certificate_pem)
    body: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return body


def xml_returns(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{xml.CEB_NS}}}CEB626Message"
    assert xml.customs_schema().validate(root.getroottree()), xml.customs_schema().error_log
    return [{etree.QName(c).localname: c.text or "" for c in element} for element in root]


def test_a_signed_ceb625_is_taken_answered_with_a_ceb626_and_forwarded_as_it_came(
    released: Inventory, clients: dict[str, APIClient], agent_keys: KeyPair
) -> None:
    body = ceb625(released, agent_keys, [(2, "1")])

    response = clients["agent"].post(returns_url(released), body, content_type="application/xml")

    [answer] = xml_returns(response)
    stored = InventoryReturn.objects.get()
    assert (answer["returnStatus"], answer["returnInfo"]) == ("2", f"accepted id={stored.pk}")
    assert [(i.gnum, i.qty) for i in stored.items.all()] == [(2, Decimal(1))]
    assert stored.dutiable_value == estimate_value(released, 2)
    [message] = ceb625_messages()
    assert message_body(message) == body


def test_a_ceb625_over_the_declared_quantity_or_of_another_list_is_refused_with_customs_codes(
    released: Inventory, clients: dict[str, APIClient], agent_keys: KeyPair
) -> None:
    over = clients["agent"].post(
        returns_url(released), ceb625(released, agent_keys, [(1, "5")]), content_type="application/xml"
    )
    other = clients["agent"].post(
        returns_url(released),
        ceb625(released, agent_keys, [(1, "1")], invt_no="29012026I000000999"),
        content_type="application/xml",
    )

    [refused] = xml_returns(over)
    assert refused["returnStatus"] == "-625001"
    assert codes.RETURN_QTY_EXCEEDS_REMAINING in refused["returnInfo"]
    [elsewhere] = xml_returns(other)
    assert elsewhere["returnStatus"] == "-625016"
    nothing_stored()


# --- Customs' answer: CEB626 -------------------------------------------------------------------------


def ceb626(inventory_return: InventoryReturn, status: str, at: str = "20261126090000") -> bytes:
    q = f"{{{xml.CEB_NS}}}"
    inventory = inventory_return.inventory
    root = etree.Element(
        f"{q}CEB626Message", {"guid": str(uuid.uuid4()).upper(), "version": "1.0"}, nsmap={"ceb": xml.CEB_NS}
    )
    element = etree.SubElement(root, f"{q}InvtRefundReturn")
    for name, value in (
        ("guid", inventory_return.guid),
        ("customsCode", inventory.customs_code),
        ("agentCode", inventory.agent_code),
        ("ebpCode", inventory.ebp_code),
        ("ebcCode", inventory.ebc_code),
        ("copNo", inventory.cop_no),
        ("preNo", "B20261125000000042"),
        ("invtNo", INVT_NO),
        ("returnStatus", status),
        ("returnTime", at + "000"),
        ("returnInfo", f"退货回执 {status}"),
    ):
        etree.SubElement(element, f"{q}{name}").text = value
    assert xml.customs_schema().validate(root.getroottree()), xml.customs_schema().error_log
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def deliver(customs: SigningPartner, body: bytes) -> InboxMessage:
    message_id = new_message_id()
    response = post_webhook(body, signed_headers(customs.secret, body, message_id=message_id))
    assert response.status_code in {200, 202}, response.content
    message = InboxMessage.objects.get(partner=customs.partner, message_id=message_id)
    tasks.apply_inbox_message(inbox_message_id=message.pk)
    message.refresh_from_db()
    return message


@pytest.fixture
def partial_return(released: Inventory, clients: dict[str, APIClient]) -> InventoryReturn:
    response = clients["agent"].post(
        returns_url(released), {"reason": "破损", "items": [{"gnum": 1, "qty": "1"}]}, format="json"
    )
    assert response.status_code == 201, response.content
    return InventoryReturn.objects.get()


def test_customs_entering_then_concluding_a_return_gives_its_value_back_to_the_quota_once(
    customs: SigningPartner, partial_return: InventoryReturn
) -> None:
    inventory = partial_return.inventory
    before = quota()
    assert before is not None
    consumed = before.consumed

    deliver(customs, ceb626(partial_return, "120"))
    partial_return.refresh_from_db()
    assert partial_return.status == InventoryReturn.Status.ENTERED
    assert quota().consumed == consumed  # type: ignore[union-attr]

    stored = deliver(customs, ceb626(partial_return, "399", "20261126100000"))
    again = deliver(customs, ceb626(partial_return, "399", "20261126100500"))

    assert (stored.state, again.state) == (InboxMessage.State.APPLIED, InboxMessage.State.APPLIED)
    partial_return.refresh_from_db()
    assert partial_return.status == InventoryReturn.Status.CONCLUDED
    assert (partial_return.quota_given_back, partial_return.quota_amount) == (True, partial_return.dutiable_value)
    assert quota().consumed == consumed - partial_return.dutiable_value  # type: ignore[union-attr]
    held = QuotaReservation.objects.get(inventory=inventory)
    assert held.amount == consumed - partial_return.dutiable_value
    inventory.refresh_from_db()
    assert inventory.status == InventoryStatus.RELEASED
    told = Event.objects.filter(type="inventory.return_answered").order_by("id")
    assert [e.payload["status"] for e in told if e.enterprise.code == inventory.agent_code] == ["entered", "concluded"]
    assert {e.enterprise.code for e in told} == {inventory.agent_code, inventory.ebc_code}


@pytest.mark.parametrize("status", ["100", "-625022"])
def test_customs_refusing_a_return_gives_nothing_back_and_frees_its_quantity(
    customs: SigningPartner, partial_return: InventoryReturn, clients: dict[str, APIClient], status: str
) -> None:
    consumed = quota().consumed  # type: ignore[union-attr]

    deliver(customs, ceb626(partial_return, status))

    partial_return.refresh_from_db()
    assert (partial_return.status, partial_return.return_status) == (InventoryReturn.Status.REFUSED, status)
    assert not partial_return.quota_given_back
    assert quota().consumed == consumed  # type: ignore[union-attr]
    # Its tin of line 1 is free again: the whole line may be returned.
    again = clients["agent"].post(
        returns_url(partial_return.inventory), {"reason": "again", "items": [{"gnum": 1, "qty": "2"}]}, format="json"
    )
    assert again.status_code == 201, again.content


def test_the_parcel_trace_shows_the_return(
    customs: SigningPartner, partial_return: InventoryReturn, clients: dict[str, APIClient]
) -> None:
    deliver(customs, ceb626(partial_return, "399"))
    inventory = partial_return.inventory

    response = clients["agent"].get(f"/api/v1/orders/{inventory.ebp_code}/{inventory.order_no}/trace")

    assert response.status_code == 200, response.content
    [event] = [e for e in response.json()["events"] if e["type"] == "return"]
    assert (event["return_id"], event["status"], event["quota_given_back"]) == (partial_return.pk, "concluded", True)
    assert event["items"] == [{"gnum": 1, "qty": "1"}]
    assert event["dutiable_value"] == str(partial_return.dutiable_value)
