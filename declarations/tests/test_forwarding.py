"""Orders, payments and waybills forwarded to customs for their senders: a declared document
leaves as the sender's own signed CEB311/411/511 or as one built from the stored row and signed
with the sender's key; a sender with neither is left alone.
Customs' CEB312/412/512 answers come back through the inbox and set ``customs_status``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from declarations.customs import xml
from declarations.intake import codes, examples
from declarations.models import Inventory, InventoryStatus, Order, Payment, Waybill
from declarations.tests.customs_xml import ceb, message_xml
from declarations.tests.helpers import EBC_CODE, EBP_CODE, PAY_CODE, Send, detail_url, url
from declarations.tests.test_receipts import _add, _message, deliver, return_time, valid
from single_window import services as hub
from single_window.models import EnterpriseSigningKey, OutboxMessage, OutboxState, Partner, PartnerKind
from single_window.outbox import message_body, outbox_relay_batch
from single_window.signatures import usable_certificates, verify_message_signature
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona, assert_problem
from tests.fake_receiver import FakeReceiver
from tests.partner_webhooks import SigningPartner, register_partner

CUSTOMS_CODE = "CUSTOMS-TEST"
ORDER = examples.ORDER


@pytest.fixture(scope="module")
def ebp_keys() -> KeyPair:
    return make_key_pair(common_name="Demo Platform")


@pytest.fixture
def customs(settings: Settings, db: None) -> SigningPartner:
    """The gateway on, and the customs partner it sends to (which also calls back)."""
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    settings.CUSTOMS_DXP_ID = "DXPENT0000TEST01"
    return register_partner(CUSTOMS_CODE, PartnerKind.CUSTOMS)


Relay = Callable[[], None]


@pytest.fixture
def relay(customs: SigningPartner, webhook_receiver: FakeReceiver, django_capture_on_commit_callbacks: Any) -> Relay:
    """``relay()``: the outbox relayed once, as the worker would, to a customs endpoint that takes
    every message (200), with the work left to after the commit run."""
    Partner.objects.filter(pk=customs.partner.pk).update(endpoint_url=webhook_receiver.url)

    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            outbox_relay_batch()

    return run


@pytest.fixture
def ebp_signing_key(ebp: Persona, ebp_keys: KeyPair) -> EnterpriseSigningKey:
    return hub.signing_key_register(
        enterprise=ebp.enterprise,
        private_key_pem=ebp_keys.private_key_pem.decode(),
        certificate_pem=ebp_keys.certificate_text,
        actor=TEST_ACTOR,
    )


def forwarded(message_type: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(destination_kind="customs", message_type=message_type).order_by("id"))


def ceb312(status: str, *, order_no: str = ORDER["order_no"], at: str = "20261125120000") -> bytes:
    """Customs' answer to the example order, written from the schema and checked against it."""
    root = _message("CEB312Message")
    _add(
        etree.SubElement(root, ceb("OrderReturn")),
        {
            "guid": ORDER["guid"].upper(),
            "ebpCode": EBP_CODE,
            "ebcCode": EBC_CODE,
            "orderNo": order_no,
            "returnStatus": status,
            "returnTime": return_time(at),
            "returnInfo": f"回执 {status}",
        },
    )
    return valid(root)


# --- Forwarding ---------------------------------------------------------------------------------


def test_an_order_declared_by_an_ebp_with_a_key_leaves_as_a_signed_schema_valid_ceb311(
    send: Send, customs: SigningPartner, ebp_signing_key: EnterpriseSigningKey
) -> None:
    response = send("order")

    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    [message] = forwarded("CEB311Message")
    assert (message.destination, message.ordering_key, message.state) == (
        CUSTOMS_CODE,
        f"order:{order.pk}",
        OutboxState.PENDING,
    )
    assert message.headers == {"Content-Type": "application/xml"}
    root = xml.read_message(message_body(message), expected_message="CEB311Message")
    check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=ebp_signing_key.enterprise))
    assert check.verified, check
    assert check.certificate == ebp_signing_key.certificate
    transfer = root.find(ceb("BaseTransfer"))
    assert transfer is not None
    assert transfer.findtext(ceb("copCode")) == EBP_CODE
    [element] = root.findall(ceb("Order"))
    sent = xml.document_dict(element, xml.SPECS_BY_MESSAGE["CEB311Message"])
    assert {k: sent[k] for k in ("guid", "order_no", "ebp_code", "buyer_id_number", "app_status")} == {
        k: ORDER[k] for k in ("guid", "order_no", "ebp_code", "buyer_id_number", "app_status")
    }
    assert Decimal(sent["goods_value"]) == Decimal(ORDER["goods_value"])
    assert [line["gnum"] for line in sent["items"]] == [str(i["gnum"]) for i in ORDER["items"]]


def test_a_sender_without_a_signing_key_is_left_to_declare_itself(send: Send, customs: SigningPartner) -> None:
    response = send("order")

    assert response.status_code == 201, response.content
    assert not OutboxMessage.objects.exists()
    order = Order.objects.get(pk=response.json()["id"])
    assert (order.customs_status, order.customs_note) == ("", "")


def test_drafts_and_a_gateway_switched_off_send_nothing(
    send: Send, customs: SigningPartner, settings: Settings, pay: Persona, ebp_keys: KeyPair
) -> None:
    hub.signing_key_register(
        enterprise=pay.enterprise,
        private_key_pem=ebp_keys.private_key_pem.decode(),
        certificate_pem=ebp_keys.certificate_text,
        actor=TEST_ACTOR,
    )
    assert send("payment", app_status="1").status_code == 201
    settings.CUSTOMS_GATEWAY_ENABLED = False
    assert send("payment", pay_transaction_id="PAY-OTHER-0001").status_code == 201

    assert not OutboxMessage.objects.exists()


def test_a_payment_of_a_sender_with_a_key_leaves_as_a_ceb411(
    send: Send, customs: SigningPartner, pay: Persona, ebp_keys: KeyPair
) -> None:
    hub.signing_key_register(
        enterprise=pay.enterprise,
        private_key_pem=ebp_keys.private_key_pem.decode(),
        certificate_pem=ebp_keys.certificate_text,
        actor=TEST_ACTOR,
    )
    response = send("payment")

    assert response.status_code == 201, response.content
    payment = Payment.objects.get(pk=response.json()["id"])
    [message] = forwarded("CEB411Message")
    assert message.ordering_key == f"payment:{payment.pk}"
    root = xml.read_message(message_body(message), expected_message="CEB411Message")
    head = root.find(f"{ceb('Payment')}/{ceb('PaymentHead')}")
    assert head is not None
    assert (head.findtext(ceb("payCode")), head.findtext(ceb("payTransactionId"))) == (
        PAY_CODE,
        examples.PAYMENT["pay_transaction_id"],
    )


def test_an_order_the_ebp_signed_itself_alone_in_its_message_is_forwarded_byte_for_byte(
    clients: dict[str, APIClient], customs: SigningPartner, ebp: Persona, ebp_keys: KeyPair
) -> None:
    # The certificate only, no signing key: anything but forwarding would send nothing.
    hub.certificate_register(enterprise=ebp.enterprise, certificate_pem=ebp_keys.certificate_text, actor=TEST_ACTOR)
    body = message_xml("order", [examples.document("order")], cop_code=EBP_CODE, keys=ebp_keys)

    response = clients["ebp"].post(url("order"), data=body, content_type="application/xml")

    assert response.status_code == 200, response.content
    [message] = forwarded("CEB311Message")
    assert message_body(message) == body


# --- Receipts -----------------------------------------------------------------------------------


def test_a_ceb312_sets_the_orders_customs_status_and_a_late_receipt_does_not_undo_it(
    send: Send, customs: SigningPartner, clients: dict[str, APIClient], ebp_signing_key: EnterpriseSigningKey
) -> None:
    order_id = send("order").json()["id"]

    deliver(customs, ceb312("2", at="20261125120000"))
    assert Order.objects.get(pk=order_id).customs_status == "2"
    applied = deliver(customs, ceb312("120", at="20261125120001"))
    late = deliver(customs, ceb312("2", at="20261125115959"))

    order = Order.objects.get(pk=order_id)
    assert (order.customs_status, order.customs_note) == ("120", "回执 120")
    assert f"{ORDER['order_no']}: 120" in applied.note
    assert "ignored" in late.note
    shown = clients["ebp"].get(detail_url("order", order_id))
    assert shown.status_code == 200
    assert shown.json()["customs_status"] == "120"


def test_a_ceb312_for_an_unknown_order_changes_nothing(send: Send, customs: SigningPartner) -> None:
    order_id = send("order").json()["id"]

    message = deliver(customs, ceb312("120", order_no="NO-SUCH-ORDER"))

    assert "no such order" in message.note
    assert Order.objects.get(pk=order_id).customs_status == ""


def sent_app_type(message_type: str = "CEB311Message") -> str:
    *_earlier, last = forwarded(message_type)
    root = xml.read_message(message_body(last), expected_message=message_type)
    head = root.find(f"{ceb('Order')}/{ceb('OrderHead')}")
    assert head is not None
    return head.findtext(ceb("appType")) or ""


def test_an_order_customs_never_took_goes_out_as_new_whatever_its_change_history(
    send: Send, customs: SigningPartner, ebp_signing_key: EnterpriseSigningKey
) -> None:
    assert send("order", app_status="1").status_code == 201  # a draft: nothing leaves

    changed = send("order", app_type="2", app_status="2", app_time="20261125110000")

    assert changed.status_code == 200, changed.content
    assert len(forwarded("CEB311Message")) == 1
    assert sent_app_type() == "1"


def test_a_change_of_an_order_customs_holds_goes_out_as_a_change_once_the_first_version_is_sent(
    send: Send, customs: SigningPartner, relay: Relay, ebp_signing_key: EnterpriseSigningKey
) -> None:
    send("order")
    deliver(customs, ceb312("120", at="20261125120001"))

    changed = send("order", app_type="2", app_time="20261125130000", note="地址更正")

    assert changed.status_code == 200, changed.content
    # The message of version 1 has not left yet: version 2 waits, marked, and can't overtake it.
    [first] = forwarded("CEB311Message")
    assert Order.objects.get().dispatch_requested_at is not None
    relay()
    first.refresh_from_db()
    assert first.state == OutboxState.SENT
    assert len(forwarded("CEB311Message")) == 2
    assert Order.objects.get().dispatch_requested_at is None
    assert sent_app_type() == "2"
    assert Order.objects.get(pk=changed.json()["id"]).customs_holds


# --- Deletions ------------------------------------------------

MESSAGE_OF = {"order": "CEB311Message", "payment": "CEB411Message", "waybill": "CEB511Message"}
HEAD_OF = {"order": "Order/OrderHead", "payment": "Payment/PaymentHead", "waybill": "Logistics/LogisticsHead"}
SENDER_PERSONA = {"order": "ebp", "payment": "pay", "waybill": "logistics"}
DOCUMENT_MODEL: dict[str, type[Order | Payment | Waybill]] = {"order": Order, "payment": Payment, "waybill": Waybill}


def head_of(message: OutboxMessage, kind: str) -> etree._Element:
    root = xml.read_message(message_body(message), expected_message=MESSAGE_OF[kind])
    head = root.find("/".join(ceb(part) for part in HEAD_OF[kind].split("/")))
    assert head is not None
    return head


@pytest.fixture
def signing_senders(parties: dict[str, Persona]) -> dict[str, Persona]:
    """The senders of the order, payment and waybill, each with an active signing key."""
    senders = {kind: parties[name] for kind, name in SENDER_PERSONA.items()}
    for who in senders.values():
        keys = make_key_pair(common_name=who.enterprise.name)
        hub.signing_key_register(
            enterprise=who.enterprise,
            private_key_pem=keys.private_key_text,
            certificate_pem=keys.certificate_text,
            actor=TEST_ACTOR,
        )
    return senders


def test_deleting_an_order_customs_holds_leaves_as_a_deletion_signed_by_its_sender(
    send: Send, customs: SigningPartner, relay: Relay, ebp_signing_key: EnterpriseSigningKey
) -> None:
    send("order")
    deliver(customs, ceb312("120", at="20261125120001"))

    deleted = send("order", app_type="3", app_time="20261125130000")
    relay()

    assert deleted.status_code == 200, deleted.content
    created, deletion = forwarded("CEB311Message")
    assert sent_app_type() == "3"
    assert (created.state, deletion.ordering_key, deletion.state) == (
        OutboxState.SENT,
        created.ordering_key,
        OutboxState.PENDING,
    )
    root = xml.read_message(message_body(deletion), expected_message="CEB311Message")
    check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=ebp_signing_key.enterprise))
    assert check.verified, check
    order = Order.objects.get()
    assert (order.status, order.customs_holds) == ("deleted", True)


@pytest.mark.parametrize("kind", ["payment", "waybill"])
def test_deleting_a_payment_or_waybill_customs_holds_leaves_as_a_deletion(
    send: Send, customs: SigningPartner, relay: Relay, signing_senders: dict[str, Persona], kind: str
) -> None:
    send(kind)
    DOCUMENT_MODEL[kind]._default_manager.update(customs_holds=True)  # as a CEB412/512 of 120 says

    deleted = send(kind, app_type="3", app_time="20261125130000")
    relay()

    assert deleted.status_code == 200, deleted.content
    created, deletion = forwarded(MESSAGE_OF[kind])
    assert head_of(created, kind).findtext(ceb("appType")) == "1"
    assert head_of(deletion, kind).findtext(ceb("appType")) == "3"


@pytest.mark.parametrize("kind", ["order", "payment", "waybill"])
def test_deleting_a_document_customs_never_took_sends_nothing_more(
    send: Send, customs: SigningPartner, signing_senders: dict[str, Persona], kind: str
) -> None:
    send(kind, app_status="1")  # a draft: never forwarded

    deleted = send(kind, app_type="3", app_time="20261125130000")

    assert deleted.status_code == 200, deleted.content
    assert forwarded(MESSAGE_OF[kind]) == []


@pytest.mark.parametrize(
    ("kind", "customs_code"), [("order", "-301011"), ("payment", "-401008"), ("waybill", "-504016")]
)
def test_deleting_a_document_whose_list_went_to_customs_is_refused_here_and_nothing_is_sent(
    send: Send, customs: SigningPartner, signing_senders: dict[str, Persona], kind: str, customs_code: str
) -> None:
    for name in ("order", "payment", "waybill", "inventory"):
        assert send(name).status_code == 201
    DOCUMENT_MODEL[kind]._default_manager.update(customs_holds=True)
    Inventory.objects.update(status=InventoryStatus.ACCEPTED)
    sent = len(forwarded(MESSAGE_OF[kind]))

    response = send(kind, app_type="3", app_time="20261125130000")

    body = assert_problem(response, 409, codes.CHANGE_NOT_ALLOWED)
    assert body["customs_code"] == customs_code
    assert DOCUMENT_MODEL[kind]._default_manager.get().status == "declared"
    assert len(forwarded(MESSAGE_OF[kind])) == sent
