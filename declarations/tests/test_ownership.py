"""Who may change or delete a stored document.

A change (``app_type`` 2) or deletion (3) comes from the enterprise that sent the document, or
where the specification lets an agent send it (an order, for its e-commerce enterprise), from an
agent that enterprise appointed. Anyone else is answered 404 for a business key it cannot see,
exactly as for a key nobody stored, and nothing is stored or sent. Each version is forwarded to
customs signed with the key of the enterprise that sent that version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.forms.models import model_to_dict
from pytest_django.fixtures import Settings

from core import errors
from core.models import AuditEntry
from declarations.customs import xml
from declarations.intake import codes, examples
from declarations.intake.services import MODELS
from declarations.models import Declaration, Order
from declarations.tests.customs_xml import ceb
from declarations.tests.helpers import EBC_CODE, Send, stored_rows
from single_window import services as hub
from single_window.models import OutboxMessage, Partner, PartnerKind
from single_window.outbox import message_body, outbox_relay_batch
from single_window.signatures import usable_certificates, verify_message_signature
from tests.certificates import make_key_pair
from tests.factories import TEST_ACTOR, Persona, assert_problem
from tests.fake_receiver import FakeReceiver
from tests.partner_webhooks import SigningPartner, register_partner

pytestmark = pytest.mark.usefixtures("parties")

LATER = "20261125150000"
LATEST = "20261125160000"
CUSTOMS_CODE = "CUSTOMS-TEST"
KINDS = ("order", "payment", "waybill", "inventory")
NOT_FOUND_CUSTOMS_CODE = {"order": "-301009", "payment": "-401006", "waybill": "-504014", "inventory": "-621011"}


@pytest.fixture
def customs(settings: Settings, db: None) -> SigningPartner:
    """The gateway on, and the customs partner it forwards to."""
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    settings.CUSTOMS_DXP_ID = "DXPENT0000TEST01"
    return register_partner(CUSTOMS_CODE, PartnerKind.CUSTOMS)


def give_signing_key(who: Persona) -> None:
    keys = make_key_pair(common_name=who.enterprise.name)
    hub.signing_key_register(
        enterprise=who.enterprise,
        private_key_pem=keys.private_key_text,
        certificate_pem=keys.certificate_text,
        actor=TEST_ACTOR,
    )


def forwarded() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(destination_kind="customs").order_by("id"))


def only(kind: str) -> Declaration:
    model, _lines = MODELS[kind]
    document: Declaration = model._default_manager.get()
    return document


def row(kind: str) -> dict[str, Any]:
    return model_to_dict(only(kind))


# --- Someone else's key ---------------------------------------------------------------------------


@pytest.mark.parametrize("app_type", ["2", "3"])
def test_an_enterprise_that_cannot_see_an_order_can_neither_change_nor_delete_it(
    send: Send, customs: SigningPartner, ebp: Persona, outsider: Persona, app_type: str
) -> None:
    give_signing_key(ebp)
    assert send("order").status_code == 201
    before, rows, sent = row("order"), stored_rows(), len(forwarded())
    # An e-commerce enterprise of another platform names itself and sends the platform's key.
    hijack = examples.document(
        "order", app_type=app_type, app_time=LATER, ebc_code=outsider.code, ebc_name="Outsider Ltd", note="hijacked"
    )

    response = send("order", hijack, by="outsider")

    body = assert_problem(response, 404, errors.NOT_FOUND)
    assert body["customs_code"] == "-301009"
    assert "existing_id" not in body
    assert (row("order"), stored_rows()) == (before, rows)
    order = Order.objects.get()
    assert (order.version, order.sender_id, order.status, order.ebc_code) == (
        1,
        ebp.enterprise.pk,
        "declared",
        EBC_CODE,
    )
    assert len(forwarded()) == sent == 1
    assert not AuditEntry.objects.filter(actor_enterprise_id=outsider.enterprise.pk).exists()


@pytest.mark.parametrize("kind", ["payment", "waybill", "inventory"])
@pytest.mark.parametrize("app_type", ["2", "3"])
def test_nobody_but_its_sender_changes_or_deletes_a_payment_waybill_or_list(
    send: Send, outsider: Persona, kind: str, app_type: str
) -> None:
    assert send(kind).status_code == 201
    before, rows = row(kind), stored_rows()

    response = send(kind, examples.document(kind, app_type=app_type, app_time=LATER, note="hijacked"), by="outsider")

    body = assert_problem(response, 404, errors.NOT_FOUND)
    assert body["customs_code"] == NOT_FOUND_CUSTOMS_CODE[kind]
    assert (row(kind), stored_rows()) == (before, rows)


@pytest.mark.parametrize("kind", KINDS)
def test_a_key_the_sender_cannot_see_is_answered_as_a_key_nobody_stored(
    send: Send, outsider: Persona, kind: str
) -> None:
    """The answer never tells an outsider whether someone else's document exists."""
    change = examples.document(kind, app_type="2", app_time=LATER)
    if kind == "order":
        change.update(ebc_code=outsider.code, ebc_name="Outsider Ltd")  # the rules alone would let it by
    unknown = send(kind, change, by="outsider").json()
    assert send(kind).status_code == 201

    known = send(kind, change, by="outsider").json()

    assert known == unknown
    assert (known["status"], known["code"]) == (404, errors.NOT_FOUND)


def test_a_party_named_in_an_order_reads_it_but_may_not_change_it(send: Send) -> None:
    assert send("order").status_code == 201  # the platform sends it; the e-commerce enterprise is named
    before, rows = row("order"), stored_rows()

    response = send("order", by="ebc", app_type="2", app_time=LATER, note="the seller's change")

    body = assert_problem(response, 403, codes.NOT_DOCUMENT_SENDER)
    assert "existing_id" not in body
    assert (row("order"), stored_rows()) == (before, rows)


def test_a_duplicate_shows_the_stored_id_only_to_who_may_see_it(send: Send, outsider: Persona) -> None:
    first = send("order").json()

    seen = assert_problem(send("order", by="ebc"), 409, codes.DUPLICATE)
    unseen = assert_problem(
        send("order", by="outsider", ebc_code=outsider.code, ebc_name="Outsider Ltd"), 409, codes.DUPLICATE
    )

    assert seen["existing_id"] == first["id"]
    assert "existing_id" not in unseen
    assert unseen["customs_code"] == "-301010"


# --- The sender and its appointed agent -----------------------------------------------------------


def test_the_agent_the_seller_appointed_changes_its_order_and_the_seller_changes_it_back(
    send: Send, agent: Persona, ebc: Persona
) -> None:
    assert send("order", by="ebc").status_code == 201

    by_agent = send("order", by="agent", app_type="2", app_time=LATER, note="the agent's change")
    by_seller = send("order", by="ebc", app_type="2", app_time=LATEST, note="the seller's change")

    assert (by_agent.status_code, by_seller.status_code) == (200, 200), (by_agent.content, by_seller.content)
    order = Order.objects.get()
    assert (order.version, order.note, order.sender_id) == (3, "the seller's change", ebc.enterprise.pk)


def test_a_platforms_order_is_not_changed_by_the_sellers_agent(send: Send) -> None:
    assert send("order").status_code == 201  # the platform's own order
    before = row("order")

    response = send("order", by="agent", app_type="2", app_time=LATER, note="the agent's change")

    assert_problem(response, 404, errors.NOT_FOUND)
    assert row("order") == before


@pytest.fixture
def relay(
    customs: SigningPartner, webhook_receiver: FakeReceiver, django_capture_on_commit_callbacks: Any
) -> Callable[[], None]:
    """``relay()``: the outbox relayed once to a customs endpoint that takes every message, with
    what it leaves to after its commit run."""
    Partner.objects.filter(pk=customs.partner.pk).update(endpoint_url=webhook_receiver.url)

    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            outbox_relay_batch()

    return run


def test_each_version_is_forwarded_signed_by_the_enterprise_that_sent_it(
    send: Send, relay: Callable[[], None], ebc: Persona, agent: Persona
) -> None:
    give_signing_key(ebc)
    give_signing_key(agent)
    assert send("order", by="ebc").status_code == 201

    changed = send("order", by="agent", app_type="2", app_time=LATER, note="the agent's change")
    relay()  # the second version leaves once the message of the first has reached customs

    assert changed.status_code == 200, changed.content
    first, second = forwarded()
    for message, signer in ((first, ebc), (second, agent)):
        root = xml.read_message(message_body(message), expected_message="CEB311Message")
        check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=signer.enterprise))
        assert check.verified, (signer, check)
        assert root.findtext(f"{ceb('BaseTransfer')}/{ceb('copCode')}") == signer.code
    assert Order.objects.get().sender_id == agent.enterprise.pk


@pytest.mark.parametrize("kind", KINDS)
def test_the_sender_still_changes_and_deletes_its_own_documents(send: Send, kind: str) -> None:
    assert send(kind).status_code == 201

    changed = send(kind, app_type="2", app_time=LATER)
    deleted = send(kind, app_type="3", app_time=LATEST)

    assert (changed.status_code, changed.json()["version"]) == (200, 2), changed.content
    assert (deleted.status_code, deleted.json()["status"]) == (200, "deleted"), deleted.content
