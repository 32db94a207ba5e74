"""The hub's waybill contract, kept by declarations: facts about a waybill and its list, and a
carrier's delivery told to customs (CEB513 out, CEB514 in). The list stays released throughout.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.test import Client
from django.utils import timezone
from lxml import etree
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from declarations.customs import delivery, gateway, xml
from declarations.event_types import WAYBILL_DELIVERY_ANSWERED
from declarations.models import Inventory, InventoryStatus, Waybill, WaybillDeliveryNotice
from declarations.tests.helpers import Send
from declarations.tests.parcels import list_of, parcel, receipt, submit
from single_window import services as hub
from single_window import tasks, waybills
from single_window.models import EnterpriseSigningKey, Event, InboxMessage, OutboxMessage, PartnerKind, RegulatorScope
from single_window.outbox import message_body
from single_window.roles import CUSTOMS_OFFICER
from single_window.signatures import usable_certificates, verify_message_signature
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona
from tests.partner_webhooks import SigningPartner, new_message_id, post_webhook, register_partner, signed_headers

CUSTOMS_CODE = "CUSTOMS-TEST"
INVT_NO = "29012026I000000077"
Q = f"{{{xml.CEB_NS}}}"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def logistics_keys() -> KeyPair:
    return make_key_pair(common_name="Demo Logistics")


@pytest.fixture
def customs(settings: Settings, db: None) -> SigningPartner:
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    settings.CUSTOMS_DXP_ID = "DXPENT0000TEST01"
    return register_partner(CUSTOMS_CODE, PartnerKind.CUSTOMS)


@pytest.fixture
def logistics_signing_key(logistics: Persona, logistics_keys: KeyPair) -> EnterpriseSigningKey:
    return hub.signing_key_register(
        enterprise=logistics.enterprise,
        private_key_pem=logistics_keys.private_key_text,
        certificate_pem=logistics_keys.certificate_text,
        actor=TEST_ACTOR,
    )


RELEASED_AT = timezone.now().replace(microsecond=0) - datetime.timedelta(days=2)


@pytest.fixture
def released(send: Send, customs: SigningPartner) -> Inventory:
    """A parcel matched, declared, accepted and released (800 at ``RELEASED_AT``)."""
    docs = parcel(77)
    submit(send, docs)
    inventory = list_of(docs)
    receipt(inventory, "120", RELEASED_AT - datetime.timedelta(minutes=5))
    receipt(inventory, "800", RELEASED_AT)
    Inventory.objects.filter(pk=inventory.pk).update(invt_no=INVT_NO)
    inventory.refresh_from_db()
    return inventory


def deliver(inventory: Inventory, *, place: str = "杭州市西湖区 驿站") -> None:
    with transaction.atomic():
        assert waybills.delivery_notice(
            waybills.Delivery(
                logistics_code=inventory.logistics_code,
                logistics_no=inventory.logistics_no,
                delivered_at=RELEASED_AT + datetime.timedelta(days=1),
                place=place,
                note="本人签收",
            )
        )


def ceb513_messages() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(message_type=delivery.CEB513).order_by("id"))


# --- The lookup -------------------------------------------------------------------------------


def test_the_lookup_knows_a_waybill_without_a_list(send: Send, parties: dict[str, Persona]) -> None:
    docs = parcel(78)
    submit(send, docs, arrival=("waybill",))

    facts = waybills.waybill_facts(docs["waybill"]["logistics_code"], docs["waybill"]["logistics_no"])

    assert facts is not None
    assert (facts.order_no, facts.inventory_id, facts.list_status, facts.released_at) == (
        docs["waybill"]["order_no"],
        None,
        "",
        None,
    )
    assert not facts.released
    assert waybills.waybill_facts(docs["waybill"]["logistics_code"], "NO-SUCH-WAYBILL") is None


def test_the_lookup_gives_the_list_and_its_release_time_in_two_queries(
    released: Inventory, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(2):
        facts = waybills.waybill_facts(released.logistics_code, released.logistics_no)

    assert facts is not None
    assert (facts.inventory_id, facts.invt_no, facts.list_status) == (released.pk, INVT_NO, "released")
    assert facts.released_at == RELEASED_AT  # the 800's returnTime, not when it was recorded
    assert (facts.ebp_code, facts.ebc_code, facts.agent_code) == (
        released.ebp_code,
        released.ebc_code,
        released.agent_code,
    )
    assert (facts.customs_code, facts.port_code, facts.trade_mode) == (
        released.customs_code,
        released.port_code,
        released.trade_mode,
    )


def test_an_accepted_list_is_not_released(send: Send, customs: SigningPartner) -> None:
    docs = parcel(79)
    submit(send, docs)
    inventory = list_of(docs)
    receipt(inventory, "120", RELEASED_AT)

    facts = waybills.waybill_facts(inventory.logistics_code, inventory.logistics_no)

    assert facts is not None
    assert (facts.list_status, facts.released_at) == ("accepted", None)


# --- CEB513 out -------------------------------------------------------------------------------


def test_a_delivery_stores_a_notice_and_a_signed_ceb513_for_the_logistics_enterprise(
    released: Inventory, logistics_signing_key: EnterpriseSigningKey
) -> None:
    deliver(released)

    notice = WaybillDeliveryNotice.objects.get()
    assert (notice.status, notice.logistics_no, notice.place) == (
        "recorded",
        released.logistics_no,
        "杭州市西湖区 驿站",
    )
    [message] = ceb513_messages()
    assert (notice.message_id, message.destination, message.destination_kind) == (message.pk, CUSTOMS_CODE, "customs")
    root = xml.read_message(message_body(message), expected_message=delivery.CEB513)  # schema-valid
    check = verify_message_signature(
        root=root, candidates=usable_certificates(enterprise=logistics_signing_key.enterprise)
    )
    assert check.verified
    status = root.find(f"{Q}LogisticsStatus")
    assert status is not None
    fields = {etree.QName(child).localname: child.text for child in status}
    assert fields["guid"] == notice.guid
    assert (fields["appType"], fields["appStatus"], fields["logisticsStatus"]) == ("1", "2", "S")
    assert (fields["logisticsCode"], fields["logisticsNo"]) == (released.logistics_code, released.logistics_no)
    china = (RELEASED_AT + datetime.timedelta(days=1)).astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert fields["logisticsTime"] == china.strftime("%Y%m%d%H%M%S")
    assert root.findtext(f"{Q}BaseTransfer/{Q}copCode") == released.logistics_code
    released.refresh_from_db()
    assert released.status == InventoryStatus.RELEASED


def test_a_second_delivery_of_the_parcel_changes_nothing(
    released: Inventory, logistics_signing_key: EnterpriseSigningKey
) -> None:
    deliver(released)
    deliver(released, place="elsewhere")

    assert WaybillDeliveryNotice.objects.get().place == "杭州市西湖区 驿站"
    assert len(ceb513_messages()) == 1


def test_without_a_signing_key_the_notice_is_send_failed_and_nothing_leaves(released: Inventory) -> None:
    deliver(released)

    notice = WaybillDeliveryNotice.objects.get()
    assert notice.status == "send_failed"
    assert "signing key" in notice.send_note
    assert notice.message_id is None
    assert not ceb513_messages()
    released.refresh_from_db()
    assert released.status == InventoryStatus.RELEASED


def test_a_delivery_of_a_waybill_nobody_holds_stores_nothing(customs: SigningPartner) -> None:
    with transaction.atomic():
        waybills.delivery_notice(
            waybills.Delivery(
                logistics_code="3301960004", logistics_no="UNKNOWN", delivered_at=timezone.now(), place="x"
            )
        )

    assert not WaybillDeliveryNotice.objects.exists()
    assert not ceb513_messages()


def test_the_customs_sender_marks_the_notice_sent_or_send_failed(
    released: Inventory, logistics_signing_key: EnterpriseSigningKey
) -> None:
    deliver(released)
    [message] = ceb513_messages()

    gateway.on_customs_sent(message)
    notice = WaybillDeliveryNotice.objects.get()
    assert notice.status == "sent"
    assert notice.sent_at is not None

    WaybillDeliveryNotice.objects.update(status="recorded")
    message.last_error = "HTTP 503"
    gateway.on_customs_dead(message)
    notice.refresh_from_db()
    assert notice.status == "send_failed"
    assert "HTTP 503" in notice.send_note
    released.refresh_from_db()
    assert released.status == InventoryStatus.RELEASED


# --- CEB514 in --------------------------------------------------------------------------------


def ceb514(inventory: Inventory, status: str, at: str = "20261126090000") -> bytes:
    root = etree.Element(
        f"{Q}CEB514Message", {"guid": str(uuid.uuid4()).upper(), "version": "1.0"}, nsmap={"ceb": xml.CEB_NS}
    )
    element = etree.SubElement(root, f"{Q}LogisticsStatusReturn")
    for name, value in (
        ("guid", str(uuid.uuid4()).upper()),
        ("logisticsCode", inventory.logistics_code),
        ("logisticsNo", inventory.logistics_no),
        ("logisticsStatus", "S"),
        ("returnStatus", status),
        ("returnTime", at + "000"),
        ("returnInfo", f"运单状态回执 {status}"),
    ):
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


def answered_events() -> list[dict[str, Any]]:
    return [event.payload for event in Event.objects.filter(type=WAYBILL_DELIVERY_ANSWERED).order_by("id")]


def test_customs_120_answers_the_notice_once_and_tells_the_logistics_enterprise(
    released: Inventory, logistics_signing_key: EnterpriseSigningKey, customs: SigningPartner
) -> None:
    deliver(released)

    apply(customs, ceb514(released, "120"))
    apply(customs, ceb514(released, "120", at="20261126090500"))

    notice = WaybillDeliveryNotice.objects.get()
    assert (notice.status, notice.return_status) == ("answered", "120")
    assert notice.answered_at is not None
    [event] = answered_events()
    assert (event["status"], event["return_status"], event["logistics_no"]) == (
        "answered",
        "120",
        released.logistics_no,
    )
    assert Event.objects.get(type=WAYBILL_DELIVERY_ANSWERED).enterprise == logistics_signing_key.enterprise
    released.refresh_from_db()
    assert released.status == InventoryStatus.RELEASED


def test_a_negative_code_refuses_the_notice_and_a_late_120_changes_nothing(
    released: Inventory, logistics_signing_key: EnterpriseSigningKey, customs: SigningPartner
) -> None:
    deliver(released)

    refused = apply(customs, ceb514(released, "-505014"))
    apply(customs, ceb514(released, "120", at="20261126091000"))

    assert "refused" in refused.note
    notice = WaybillDeliveryNotice.objects.get()
    assert (notice.status, notice.return_status) == ("refused", "-505014")
    assert [e["status"] for e in answered_events()] == ["refused"]
    released.refresh_from_db()
    assert released.status == InventoryStatus.RELEASED


def test_a_ceb514_from_another_partner_is_never_applied(
    released: Inventory, logistics_signing_key: EnterpriseSigningKey
) -> None:
    deliver(released)
    payment = register_partner("PAY-TEST", PartnerKind.PAYMENT)
    body = ceb514(released, "120")
    message_id = new_message_id()
    post_webhook(body, signed_headers(payment.secret, body, message_id=message_id), url="/api/v1/webhooks/payments")

    assert WaybillDeliveryNotice.objects.get().status == "recorded"


# --- Trace ------------------------------------------------------------------------------------


def test_the_trace_shows_the_delivery_notice(
    released: Inventory,
    logistics_signing_key: EnterpriseSigningKey,
    customs: SigningPartner,
    clients: dict[str, APIClient],
) -> None:
    deliver(released)
    apply(customs, ceb514(released, "120"))

    response = clients["logistics"].get(f"/api/v1/orders/{released.ebp_code}/{released.order_no}/trace")

    assert response.status_code == 200, response.content
    [event] = [e for e in response.json()["events"] if e["type"] == "delivery_notice"]
    assert (event["status"], event["return_status"]) == ("answered", "120")
    assert "place" not in event
    assert event["at"].endswith("+08:00")
    assert Waybill.objects.filter(pk=WaybillDeliveryNotice.objects.get().waybill_id).exists()


# --- Admin ------------------------------------------------------------------------------------


def test_a_regulator_sees_the_notices_of_its_district_with_the_place_masked(
    released: Inventory, logistics_signing_key: EnterpriseSigningKey, client: Client
) -> None:
    deliver(released, place="杭州市西湖区文三路 1 号 驿站")
    notice = WaybillDeliveryNotice.objects.get()
    near = User.objects.create_user(username="officer-near", is_staff=True)
    near.groups.add(Group.objects.get(name=CUSTOMS_OFFICER))
    RegulatorScope.objects.create(user=near, customs_district=released.customs_code)
    far = User.objects.create_user(username="officer-far", is_staff=True)
    far.groups.add(Group.objects.get(name=CUSTOMS_OFFICER))
    RegulatorScope.objects.create(user=far, customs_district="3999")
    page = f"/admin/declarations/waybilldeliverynotice/{notice.pk}/change/"

    client.force_login(near)
    listed = client.get("/admin/declarations/waybilldeliverynotice/")
    shown = client.get(page)

    assert listed.status_code == 200
    assert notice.pk in set(listed.context["cl"].queryset.values_list("pk", flat=True))
    assert shown.status_code == 200
    assert "文三路 1 号" not in shown.content.decode()
    client.force_login(far)
    assert not client.get("/admin/declarations/waybilldeliverynotice/").context["cl"].queryset.exists()
    assert client.get(page).status_code in {302, 403, 404}
