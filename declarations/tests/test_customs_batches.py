"""The gateway packs what it signs itself: the lists (and orders, payments, waybills) one declarant
declares within a short window leave in one signed message of up to 100, each carrying one
``CustomsMessageDocument`` per document. Customs answers per document; a message it refuses as a
whole is split and each document sent again alone; versions of one document never overtake each
other; and nothing marked is lost, whatever fails between the claim and the outbox.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.utils import timezone
from lxml import etree
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from declarations import tasks
from declarations.customs import gateway, xml
from declarations.models import CustomsMessageDocument, Inventory, InventoryItem, InventoryStatus, Order
from declarations.tests.customs_xml import ceb, message_xml
from declarations.tests.helpers import AGENT_CODE, EBP_CODE, Send, url
from declarations.tests.parcels import list_of, parcel, submit
from declarations.tests.test_concurrency import at_once
from declarations.tests.test_receipts import ceb622, deliver, inventory_return
from simulators.customs import CustomsConfig, CustomsSimulator
from single_window import inbox
from single_window import services as hub
from single_window.models import EnterpriseSigningKey, OutboxMessage, OutboxState, Partner, PartnerKind, Role
from single_window.outbox import message_body, outbox_relay_batch
from single_window.signatures import usable_certificates, verify_message_signature
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, EnterpriseFactory, Persona
from tests.fake_receiver import FakeReceiver
from tests.partner_webhooks import SigningPartner, register_partner

CUSTOMS_CODE = "CUSTOMS-TEST"
OTHER_AGENT_CODE = "3301969999"
Capture = Callable[..., Any]


# --- Fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def agent_keys() -> KeyPair:
    return make_key_pair(common_name="Demo Customs Broker")


@pytest.fixture
def template(send: Send) -> Inventory:
    """One list declared with the gateway off (the suite's default): matched, reserved, declared,
    and nothing sent. The tests copy it into as many declared lists as they need."""
    docs = parcel(1)
    submit(send, docs)
    inventory = list_of(docs)
    assert (inventory.status, inventory.dispatch_requested_at) == (InventoryStatus.DECLARED, None)
    return inventory


@pytest.fixture
def customs(settings: Settings, template: Inventory) -> SigningPartner:
    """The gateway on (after the template was declared), and customs to send to."""
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    settings.CUSTOMS_DXP_ID = "DXPENT0000TEST01"
    return register_partner(CUSTOMS_CODE, PartnerKind.CUSTOMS)


def _signing_key(who: Persona | Any, keys: KeyPair) -> EnterpriseSigningKey:
    enterprise = who.enterprise if isinstance(who, Persona) else who
    return hub.signing_key_register(
        enterprise=enterprise,
        private_key_pem=keys.private_key_text,
        certificate_pem=keys.certificate_text,
        actor=TEST_ACTOR,
    )


@pytest.fixture
def agent_signing_key(agent: Persona, agent_keys: KeyPair) -> EnterpriseSigningKey:
    return _signing_key(agent, agent_keys)


@pytest.fixture
def customs_endpoint(customs: SigningPartner, webhook_receiver: FakeReceiver) -> FakeReceiver:
    """Customs' endpoint: a local server answering as scripted (200 unless told otherwise)."""
    Partner.objects.filter(pk=customs.partner.pk).update(endpoint_url=webhook_receiver.url)
    return webhook_receiver


@pytest.fixture
def relay(customs_endpoint: FakeReceiver, django_capture_on_commit_callbacks: Capture) -> Callable[[], int]:
    """``relay()``: one run of the outbox relay, as the worker makes it, and what it leaves to
    after its commit (the packing it schedules) run as well."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return outbox_relay_batch(limit=500)

    return run


def declared_lists(template: Inventory, count: int, *, agent_code: str = AGENT_CODE, first: int = 0) -> list[Inventory]:
    """``count`` copies of the template, declared and marked for dispatch at one instant (one
    window), as the declare step leaves them."""
    items = list(InventoryItem.objects.filter(inventory=template))
    marked = timezone.now() - datetime.timedelta(milliseconds=1)
    made = []
    for n in range(first, first + count):
        copy = Inventory.objects.get(pk=template.pk)
        copy.pk = None
        copy.guid = str(uuid.uuid4()).upper()
        copy.cop_no = f"COPBATCH{n:06d}"
        copy.order_no = f"ORDBATCH{n:06d}"
        copy.agent_code = agent_code
        copy.status = InventoryStatus.DECLARED
        copy.dispatch_requested_at = marked
        copy.save()
        InventoryItem.objects.bulk_create(
            [InventoryItem(**{**_columns(item), "id": None, "inventory": copy}) for item in items]
        )
        made.append(copy)
    return made


def _columns(row: Any) -> dict[str, Any]:
    return {field.name: getattr(row, field.name) for field in row._meta.concrete_fields}


def customs_messages(message_type: str = gateway.CEB621) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(destination_kind="customs", message_type=message_type).order_by("id"))


def carried(message: OutboxMessage) -> list[tuple[int, int]]:
    """(list id, version) of each list the message carries, in its order."""
    rows = CustomsMessageDocument.objects.filter(message=message).order_by("position")
    return [(row.inventory_id, row.version) for row in rows if row.inventory_id is not None]


def read(message: OutboxMessage) -> etree._Element:
    """The message as customs reads it: schema-valid (``read_message`` raises otherwise)."""
    return xml.read_message(message_body(message), expected_message=message.message_type)


def cop_nos(root: etree._Element) -> list[str]:
    return [element.findtext(f"{ceb('InventoryHead')}/{ceb('copNo')}") or "" for element in root.iter(ceb("Inventory"))]


def assert_signed_with(root: etree._Element, key: EnterpriseSigningKey) -> None:
    check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=key.enterprise))
    assert check.verified, check
    assert check.certificate == key.certificate
    [signature] = root.findall("{http://www.w3.org/2000/09/xmldsig#}Signature")
    assert signature is root[-1]  # one signature for the whole message, where the schema wants it


def refusal_ceb900() -> bytes:
    """Customs' answer to a message it refuses as a whole."""
    return xml.message_rejected_xml(
        xml.SchemaInvalid("The message does not validate against the customs schema", return_status="-2")
    )


# --- Packing -------------------------------------------------------------------------------------


def test_150_lists_of_one_agent_marked_in_one_window_leave_in_two_signed_schema_valid_messages(
    template: Inventory, customs: SigningPartner, agent_signing_key: EnterpriseSigningKey
) -> None:
    lists = declared_lists(template, 150)

    claimed = gateway.documents_pack(kind="inventory", group=AGENT_CODE)

    assert claimed == 150
    first, second = customs_messages()
    assert (len(carried(first)), len(carried(second))) == (100, 50)
    for message in (first, second):
        assert (message.destination, message.state) == (CUSTOMS_CODE, OutboxState.PENDING)
        root = read(message)
        assert_signed_with(root, agent_signing_key)
        transfer = root.find(ceb("BaseTransfer"))
        assert transfer is not None
        assert transfer.findtext(ceb("copCode")) == AGENT_CODE
        # The rows name exactly the lists the XML holds, in its order.
        by_id = {inventory.pk: inventory.cop_no for inventory in lists}
        assert cop_nos(root) == [by_id[inventory_id] for inventory_id, _version in carried(message)]
    assert sorted(carried(first) + carried(second)) == sorted((i.pk, i.version) for i in lists)
    assert first.ordering_key != second.ordering_key
    assert not Inventory.objects.filter(dispatch_requested_at__isnull=False).exists()
    assert set(Inventory.objects.filter(pk__in=[i.pk for i in lists]).values_list("status", flat=True)) == {
        InventoryStatus.DECLARED
    }


def test_the_lists_of_two_agents_leave_in_separate_messages_each_signed_by_its_agent(
    template: Inventory, customs: SigningPartner, agent_signing_key: EnterpriseSigningKey
) -> None:
    other = EnterpriseFactory.create(customs_code=OTHER_AGENT_CODE, roles=[Role.AGENT], name="Other Broker")
    other_key = _signing_key(other, make_key_pair(common_name="Other Broker"))
    mine = declared_lists(template, 3)
    theirs = declared_lists(template, 2, agent_code=OTHER_AGENT_CODE, first=100)

    claimed = gateway.dispatch_sweep(older_than=datetime.timedelta(0))

    assert claimed == 5
    messages = customs_messages()
    assert len(messages) == 2
    by_signer = {}
    for message in messages:
        root = read(message)
        transfer = root.find(ceb("BaseTransfer"))
        assert transfer is not None
        by_signer[transfer.findtext(ceb("copCode"))] = (root, {inventory_id for inventory_id, _ in carried(message)})
    assert by_signer[AGENT_CODE][1] == {i.pk for i in mine}
    assert by_signer[OTHER_AGENT_CODE][1] == {i.pk for i in theirs}
    assert_signed_with(by_signer[AGENT_CODE][0], agent_signing_key)
    assert_signed_with(by_signer[OTHER_AGENT_CODE][0], other_key)


@pytest.mark.usefixtures("customs")
def test_orders_of_one_platform_leave_together_in_one_ceb311(
    send: Send, ebp: Persona, no_window: list[dict[str, str]]
) -> None:
    key = _signing_key(ebp, make_key_pair(common_name="Demo Platform"))
    waiting = no_window
    for n in range(3):
        assert send("order", order_no=f"ORDER-BATCH-{n}").status_code == 201
    assert customs_messages("CEB311Message") == []
    assert waiting == [{"kind": "order", "group": str(ebp.enterprise.pk)}] * 3

    assert gateway.documents_pack(kind="order", group=str(ebp.enterprise.pk)) == 3

    [message] = customs_messages("CEB311Message")
    root = read(message)
    assert_signed_with(root, key)
    numbers = [element.findtext(f"{ceb('OrderHead')}/{ceb('orderNo')}") for element in root.iter(ceb("Order"))]
    assert numbers == [f"ORDER-BATCH-{n}" for n in range(3)]
    rows = CustomsMessageDocument.objects.filter(message=message).order_by("position")
    orders = Order.objects.filter(ebp_code=EBP_CODE, order_no__startswith="ORDER-BATCH-").order_by("order_no")
    assert [row.order_id for row in rows] == list(orders.values_list("pk", flat=True))


# --- The window ----------------------------------------------------------------------------------


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What is published to the broker, instead of publishing it."""
    published: list[dict[str, Any]] = []

    def send_task(name: str, **options: Any) -> None:
        published.append({"name": name, **options})

    monkeypatch.setattr(current_app, "send_task", send_task)
    return published


def test_documents_declared_within_the_window_schedule_one_packing_which_takes_them_all(
    template: Inventory,
    customs: SigningPartner,
    agent_signing_key: EnterpriseSigningKey,
    settings: Settings,
    broker: list[dict[str, Any]],
) -> None:
    settings.CUSTOMS_BATCH_WINDOW_MS = 200
    lists = declared_lists(template, 5)

    for inventory in lists:
        gateway.pack_soon(kind="inventory", group=inventory.agent_code)

    [scheduled] = broker
    assert scheduled == {
        "name": gateway.PACK_TASK,
        "kwargs": {"kind": "inventory", "group": AGENT_CODE},
        "countdown": 0.2,
        "retry": False,
    }
    assert customs_messages() == []
    assert tasks.customs_pack(**scheduled["kwargs"]) == 5
    [message] = customs_messages()
    assert sorted(carried(message)) == sorted((i.pk, i.version) for i in lists)
    # The packing that ran took the mark off: the next document declared schedules the next one.
    gateway.pack_soon(kind="inventory", group=AGENT_CODE)
    assert len(broker) == 2


def test_with_no_broker_the_packing_runs_at_once(
    template: Inventory,
    customs: SigningPartner,
    agent_signing_key: EnterpriseSigningKey,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.CUSTOMS_BATCH_WINDOW_MS = 200

    def broker_away(name: str, **options: Any) -> None:
        raise ConnectionError("the broker is away")

    monkeypatch.setattr(current_app, "send_task", broker_away)
    lists = declared_lists(template, 2)

    gateway.pack_soon(kind="inventory", group=AGENT_CODE)

    [message] = customs_messages()
    assert len(carried(message)) == len(lists)


@pytest.fixture
def eager() -> Iterator[None]:
    """Celery runs tasks where they are sent (``CELERY_TASK_ALWAYS_EAGER``)."""
    before = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = before


@pytest.mark.usefixtures("customs", "agent_signing_key", "eager")
def test_with_tasks_run_eagerly_the_packing_runs_at_once(
    template: Inventory, settings: Settings, broker: list[dict[str, Any]]
) -> None:
    settings.CUSTOMS_BATCH_WINDOW_MS = 200
    declared_lists(template, 2)

    gateway.pack_soon(kind="inventory", group=AGENT_CODE)

    assert broker == []
    [message] = customs_messages()
    assert len(carried(message)) == 2


# --- Nothing is lost -----------------------------------------------------------------------------


def test_a_crash_between_the_claim_and_the_outbox_loses_nothing_the_sweep_sends_it(
    template: Inventory,
    customs: SigningPartner,
    agent_signing_key: EnterpriseSigningKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lists = declared_lists(template, 3)

    def crash(**_: Any) -> OutboxMessage:
        raise RuntimeError("the process died")

    with monkeypatch.context() as patched:
        patched.setattr(gateway, "outbox_enqueue", crash)
        gateway.pack_soon(kind="inventory", group=AGENT_CODE)  # logs the failure, leaves it to the sweep

    assert customs_messages() == []
    assert CustomsMessageDocument.objects.count() == 0
    assert Inventory.objects.filter(pk__in=[i.pk for i in lists], dispatch_requested_at__isnull=False).count() == 3
    assert gateway.dispatch_sweep() == 0  # marked too recently: its own packing may still come
    Inventory.objects.filter(pk__in=[i.pk for i in lists]).update(
        dispatch_requested_at=timezone.now() - datetime.timedelta(minutes=5)
    )

    assert gateway.dispatch_sweep() == 3

    [message] = customs_messages()
    assert sorted(carried(message)) == sorted((i.pk, i.version) for i in lists)
    assert gateway.dispatch_sweep() == 0


# --- Customs' answers ----------------------------------------------------------------------------


def test_receipts_for_a_packed_message_move_each_list(
    template: Inventory,
    customs: SigningPartner,
    agent_signing_key: EnterpriseSigningKey,
) -> None:
    lists = declared_lists(template, 3)
    gateway.documents_pack(kind="inventory", group=AGENT_CODE)
    [message] = customs_messages()
    head_guids = dict(Inventory.objects.filter(pk__in=[i.pk for i in lists]).values_list("cop_no", "guid"))

    answer = ceb622(
        *(
            inventory_return("120", f"2026112512000{n}", cop_no=cop_no, guid=head_guids[cop_no])
            for n, cop_no in enumerate(cop_nos(read(message)))
        )
    )
    applied = deliver(customs, answer)

    assert applied.state == "applied", applied.note
    for inventory in lists:
        inventory.refresh_from_db()
        assert inventory.status == InventoryStatus.ACCEPTED
        assert inventory.status_changes.filter(receipt_code="120", applied=True).count() == 1


def test_a_ceb900_for_a_packed_message_sends_each_list_again_alone(
    template: Inventory,
    customs: SigningPartner,
    agent_signing_key: EnterpriseSigningKey,
    customs_endpoint: FakeReceiver,
    relay: Callable[[], int],
) -> None:
    lists = declared_lists(template, 3)
    gateway.documents_pack(kind="inventory", group=AGENT_CODE)
    [batch] = customs_messages()
    customs_endpoint.response_body = refusal_ceb900()
    customs_endpoint.answer(400)

    relay()

    batch.refresh_from_db()
    assert (batch.state, batch.attempts) == (OutboxState.DEAD, 1)  # refused: no retry of the same bytes
    assert "CEB900" in batch.last_error
    assert CustomsMessageDocument.objects.filter(message=batch, split_at__isnull=True).count() == 0
    singles = customs_messages()[1:]
    assert sorted(carried(message)[0] for message in singles) == sorted((i.pk, i.version) for i in lists)
    assert {len(carried(message)) for message in singles} == {1}
    assert {message.ordering_key for message in singles} == {f"inventory:{i.pk}" for i in lists}
    for message in singles:
        assert_signed_with(read(message), agent_signing_key)
    assert set(Inventory.objects.filter(pk__in=[i.pk for i in lists]).values_list("status", flat=True)) == {
        InventoryStatus.DECLARED
    }

    # The first list is refused alone as well: it follows the failure path; the others go through.
    customs_endpoint.answer(400)
    relay()

    statuses = dict(Inventory.objects.filter(pk__in=[i.pk for i in lists]).values_list("pk", "status"))
    refused = carried(singles[0])[0][0]
    assert statuses.pop(refused) == InventoryStatus.SEND_FAILED
    assert set(statuses.values()) == {InventoryStatus.DECLARED}
    assert [m.state for m in customs_messages()] == [OutboxState.DEAD, OutboxState.DEAD, *[OutboxState.SENT] * 2]
    assert len(customs_messages()) == 4  # nothing split twice


@pytest.mark.usefixtures("agent_signing_key")
def test_a_400_without_a_ceb900_is_a_failed_attempt_retried_not_a_refusal(
    template: Inventory, customs_endpoint: FakeReceiver, relay: Callable[[], int]
) -> None:
    declared_lists(template, 2)
    gateway.documents_pack(kind="inventory", group=AGENT_CODE)
    customs_endpoint.answer(400)  # a proxy's 400, say: nothing says customs refused the message

    relay()

    [message] = customs_messages()
    assert (message.state, message.attempts, message.last_error) == (OutboxState.PENDING, 1, "HTTP 400")
    assert not CustomsMessageDocument.objects.filter(split_at__isnull=False).exists()


def test_a_message_level_refusal_in_the_receipts_sends_each_list_again_alone_and_alone_it_is_final(
    template: Inventory,
    customs: SigningPartner,
    agent_signing_key: EnterpriseSigningKey,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    lists = declared_lists(template, 2)
    gateway.documents_pack(kind="inventory", group=AGENT_CODE)
    [batch] = customs_messages()
    head_guids = dict(Inventory.objects.filter(pk__in=[i.pk for i in lists]).values_list("cop_no", "guid"))

    def refusal(cop_no: str, at: str, code: str = "-621029") -> bytes:
        return ceb622(inventory_return(code, at, cop_no=cop_no, guid=head_guids[cop_no], invtNo=None))

    first, second = (i.cop_no for i in lists)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(customs, refusal(first, "20261125120000"))
        deliver(customs, refusal(second, "20261125120000", "-621030"))

    for inventory in lists:
        inventory.refresh_from_db()
        assert inventory.status == InventoryStatus.DECLARED  # recorded; the list goes again
        [change] = inventory.status_changes.filter(receipt_code__in=["-621029", "-621030"])
        assert (change.from_status, change.to_status) == ("declared", "declared")
    singles = customs_messages()[1:]
    assert sorted(carried(m)[0] for m in singles) == sorted((i.pk, i.version) for i in lists)

    # The same refusal delivered again sends nothing more; refused alone, the list is rejected.
    with django_capture_on_commit_callbacks(execute=True):
        deliver(customs, refusal(first, "20261125120000"))
        deliver(customs, refusal(first, "20261125120500"))

    assert len(customs_messages()) == 3
    assert Inventory.objects.get(pk=lists[0].pk).status == InventoryStatus.REJECTED
    assert Inventory.objects.get(pk=lists[1].pk).status == InventoryStatus.DECLARED
    assert batch.pk == customs_messages()[0].pk


# --- Order ---------------------------------------------------------------------------------------


def test_the_next_version_of_a_list_waits_until_the_message_holding_the_previous_one_is_sent(
    template: Inventory,
    customs: SigningPartner,
    agent_signing_key: EnterpriseSigningKey,
    relay: Callable[[], int],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    first, other = declared_lists(template, 2)
    gateway.documents_pack(kind="inventory", group=AGENT_CODE)
    [version_1] = customs_messages()
    # Version 2 of the first list is declared while the message of version 1 has not left.
    Inventory.objects.filter(pk=first.pk).update(version=2, note="version 2")
    first.refresh_from_db()
    [another] = declared_lists(template, 1, first=50)
    with django_capture_on_commit_callbacks(execute=True):
        gateway.document_mark(kind=gateway.kinds.INVENTORY, document=first)
        gateway.document_mark(kind=gateway.kinds.INVENTORY, document=another)

    # The packing took the other list and left version 2 waiting, marked.
    _, with_another = customs_messages()
    assert carried(with_another) == [(another.pk, 1)]
    first.refresh_from_db()
    assert first.dispatch_requested_at is not None

    relay()  # version 1's message reaches customs; version 2 is packed after it

    messages = customs_messages()
    assert len(messages) == 3
    version_1.refresh_from_db()
    version_2 = messages[-1]
    assert carried(version_2) == [(first.pk, 2)]
    assert version_1.sent_at is not None
    assert version_1.sent_at <= version_2.created_at
    [note] = [e.findtext(f"{ceb('InventoryHead')}/{ceb('note')}") for e in read(version_2).iter(ceb("Inventory"))]
    assert note == "version 2"
    assert (first.pk, 1) in carried(version_1)
    assert other.pk in {inventory_id for inventory_id, _ in carried(version_1)}


# --- What the enterprise signed itself -----------------------------------------------------------


@pytest.fixture
def no_window(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """The packing is not scheduled (the window is still open): the tests pack by hand what was
    marked; the packings asked for are listed."""
    scheduled: list[dict[str, str]] = []
    monkeypatch.setattr(gateway, "pack_soon", lambda **group: scheduled.append(group))
    return scheduled


@pytest.mark.usefixtures("customs", "no_window")
def test_a_list_the_agent_signed_itself_goes_byte_for_byte_alone_beside_the_packed_ones(
    send: Send,
    clients: dict[str, APIClient],
    agent_keys: KeyPair,
    agent_signing_key: EnterpriseSigningKey,
    template: Inventory,
) -> None:
    docs = parcel(5)
    submit(send, docs, arrival=("order", "payment", "waybill"))
    body = message_xml("inventory", [docs["inventory"]], cop_code=AGENT_CODE, keys=agent_keys)
    response = clients["agent"].post(url("inventory"), data=body, content_type="application/xml")
    assert response.status_code == 200, response.content
    signed_by_agent = list_of(docs)
    packed = declared_lists(template, 2)
    assert Inventory.objects.get(pk=signed_by_agent.pk).dispatch_requested_at is not None  # marked like any other

    assert gateway.documents_pack(kind="inventory", group=AGENT_CODE) == 3

    forwarded, together = customs_messages()
    assert message_body(forwarded) == body
    assert carried(forwarded) == [(signed_by_agent.pk, signed_by_agent.version)]
    assert forwarded.ordering_key == f"inventory:{signed_by_agent.pk}"
    assert sorted(carried(together)) == sorted((i.pk, i.version) for i in packed)
    assert_signed_with(read(together), agent_signing_key)


# --- Two packings at once ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush", "customs", "agent_signing_key")
def test_two_packings_at_once_never_send_a_list_twice(template: Inventory) -> None:
    lists = declared_lists(template, 150)

    claimed = at_once([lambda: gateway.documents_pack(kind="inventory", group=AGENT_CODE)] * 2)

    assert sum(claimed) == 150
    rows = CustomsMessageDocument.objects.filter(inventory__isnull=False)
    assert sorted(rows.values_list("inventory_id", flat=True)) == sorted(i.pk for i in lists)
    messages = customs_messages()
    assert sum(len(carried(message)) for message in messages) == 150
    assert all(len(carried(message)) <= 100 for message in messages)
    assert not Inventory.objects.filter(dispatch_requested_at__isnull=False).exists()


# --- With the customs simulator, over real HTTP --------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush", "agent_signing_key")
def test_a_packed_message_is_taken_by_the_customs_simulator_and_each_list_released(
    template: Inventory, customs: SigningPartner, live_server: LiveServer, agent_keys: KeyPair, tmp_path: Path
) -> None:
    certificates = tmp_path / "certificates"
    certificates.mkdir()
    (certificates / f"{AGENT_CODE}.pem").write_bytes(agent_keys.certificate_pem)
    config = CustomsConfig(
        port=0,
        callback_url=f"{live_server.url}/api/v1/webhooks/customs",
        secret=customs.secret,
        certificates=certificates,
        step_delay=0.05,
        callback_backoff=0.05,
        fail_rate=0.0,
    )
    simulator = CustomsSimulator(config).start()
    try:
        Partner.objects.filter(pk=customs.partner.pk).update(endpoint_url=f"http://127.0.0.1:{simulator.port}/ceb")
        lists = declared_lists(template, 5)
        gateway.documents_pack(kind="inventory", group=AGENT_CODE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            outbox_relay_batch()
            for message_id in inbox.inbox_pending_ids():
                inbox.inbox_apply(message_id=message_id)
            released = Inventory.objects.filter(pk__in=[i.pk for i in lists], status=InventoryStatus.RELEASED)
            if released.count() == len(lists):
                break
            time.sleep(0.1)
        received = simulator.log.snapshot()["received"]
    finally:
        simulator.stop()

    [message] = customs_messages()
    assert message.state == OutboxState.SENT
    assert [(r["message_type"], r["signers"], len(r["lists"])) for r in received] == [(gateway.CEB621, [AGENT_CODE], 5)]
    for inventory in lists:
        applied = inventory.status_changes.filter(source="customs_receipt", applied=True)
        assert list(applied.values_list("receipt_code", flat=True)) == ["2", "120", "800"]
        assert Inventory.objects.get(pk=inventory.pk).invt_no
