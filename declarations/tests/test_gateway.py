"""The customs gateway: a declared list leaves as a signed CEB621 (forwarded when the enterprise
signed it itself), a cancellation as a signed CEB623; with no key nothing leaves. The last test
runs the whole way over real HTTP with the customs simulator as a subprocess."""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.utils import timezone
from lxml import etree
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from config.celery import app as celery_app
from core.audit import Actor
from core.errors import Conflict
from declarations.customs import gateway, xml
from declarations.intake import examples, services
from declarations.models import (
    Inventory,
    InventoryCancellation,
    InventoryStatus,
    InventoryStatusChange,
    StatusChangeSource,
    TaxEstimate,
)
from declarations.tests.customs_xml import ceb, message_xml
from declarations.tests.helpers import AGENT_CODE, Send, url
from declarations.tests.parcels import BUYER_ID, list_of, parcel, quota, receipt, submit
from finance import guarantees
from finance.models import TaxBill
from finance.participant import FinanceParticipant
from risk.models import Assessment, RiskRule, WatchListEntry
from risk.participant import RiskParticipant
from single_window import declare as contract
from single_window import inbox
from single_window import services as hub
from single_window.models import (
    EnterpriseSigningKey,
    OutboxMessage,
    OutboxState,
    Partner,
    PartnerKind,
    RegulatorScope,
)
from single_window.outbox import message_body, outbox_relay_batch
from single_window.roles import CUSTOMS_OFFICER
from single_window.signatures import usable_certificates, verify_message_signature
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona

ROOT = Path(__file__).resolve().parents[2]
CUSTOMS_CODE = "CUSTOMS-TEST"


# --- Fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def agent_keys() -> KeyPair:
    return make_key_pair(common_name="Demo Customs Broker")


@pytest.fixture
def gateway_on(settings: Settings) -> None:
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    settings.CUSTOMS_DXP_ID = "DXPENT0000TEST01"


@pytest.fixture
def customs(gateway_on: None, db: None) -> tuple[Partner, str]:
    """The customs partner (no endpoint yet) and its Standard Webhooks secret."""
    return hub.partner_register(code=CUSTOMS_CODE, name="Test customs", kind=PartnerKind.CUSTOMS, actor=TEST_ACTOR)


@pytest.fixture
def agent_signing_key(agent: Persona, agent_keys: KeyPair) -> EnterpriseSigningKey:
    return hub.signing_key_register(
        enterprise=agent.enterprise,
        private_key_pem=agent_keys.private_key_pem.decode(),
        certificate_pem=agent_keys.certificate_text,
        actor=TEST_ACTOR,
    )


def only_message(message_type: str = gateway.CEB621) -> OutboxMessage:
    [message] = OutboxMessage.objects.filter(destination_kind="customs", message_type=message_type)
    return message


def read(body: bytes, message_type: str = gateway.CEB621) -> etree._Element:
    """The message as customs reads it: schema-valid (``read_message`` raises otherwise)."""
    return xml.read_message(body, expected_message=message_type)


def assert_signed_with(root: etree._Element, key: EnterpriseSigningKey) -> None:
    """The signature verifies with a certificate of the key's enterprise: the key's own."""
    check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=key.enterprise))
    assert check.verified, check
    assert check.certificate == key.certificate


# --- JSON submissions --------------------------------------------------------------------------


def test_a_json_list_of_a_declarant_with_a_key_leaves_as_a_signed_schema_valid_ceb621(
    send: Send, customs: tuple[Partner, str], agent_signing_key: EnterpriseSigningKey
) -> None:
    docs = parcel(1)

    submit(send, docs)

    inventory = list_of(docs)
    assert inventory.status == InventoryStatus.DECLARED
    message = only_message()
    assert (message.destination, message.ordering_key, message.state) == (
        CUSTOMS_CODE,
        f"inventory:{inventory.pk}",
        OutboxState.PENDING,
    )
    assert message.headers == {"Content-Type": "application/xml"}
    root = read(message_body(message))
    assert_signed_with(root, agent_signing_key)
    transfer = root.find(ceb("BaseTransfer"))
    assert transfer is not None
    assert [transfer.findtext(ceb(n)) for n in ("copCode", "dxpMode", "dxpId")] == [
        AGENT_CODE,
        "DXP",
        "DXPENT0000TEST01",
    ]
    [element] = root.findall(ceb("Inventory"))
    head = xml.document_dict(element, xml.SPECS_BY_MESSAGE[gateway.CEB621])
    sent = docs["inventory"]
    assert {k: head[k] for k in ("guid", "cop_no", "order_no", "agent_code", "buyer_id_number", "app_status")} == {
        k: sent[k] for k in ("guid", "cop_no", "order_no", "agent_code", "app_status")
    } | {"buyer_id_number": BUYER_ID}
    assert [line["gnum"] for line in head["items"]] == [str(i["gnum"]) for i in sent["items"]]
    assert Decimal(head["freight"]) == Decimal(sent["freight"])


def test_without_a_signing_key_the_list_goes_to_send_failed_and_nothing_leaves(
    send: Send, customs: tuple[Partner, str]
) -> None:
    docs = parcel(2)

    submit(send, docs)

    inventory = list_of(docs)
    assert inventory.status == InventoryStatus.SEND_FAILED
    last = InventoryStatusChange.objects.filter(inventory=inventory).order_by("id").last()
    assert last is not None
    assert (last.from_status, last.to_status, last.source) == (
        "declared",
        "send_failed",
        StatusChangeSource.SINGLE_WINDOW,
    )
    assert "signing key is needed" in last.note
    assert not OutboxMessage.objects.exists()


def test_a_revoked_key_signs_nothing(
    send: Send, customs: tuple[Partner, str], agent_signing_key: EnterpriseSigningKey
) -> None:
    hub.signing_key_revoke(signing_key=agent_signing_key, actor=TEST_ACTOR)
    docs = parcel(3)

    submit(send, docs)

    assert list_of(docs).status == InventoryStatus.SEND_FAILED
    assert not OutboxMessage.objects.exists()


def test_with_the_gateway_off_the_list_stays_declared_and_nothing_is_sent(
    send: Send, settings: Settings, agent_signing_key: EnterpriseSigningKey
) -> None:
    settings.CUSTOMS_GATEWAY_ENABLED = False
    docs = parcel(4)

    submit(send, docs)

    assert list_of(docs).status == InventoryStatus.DECLARED
    assert not OutboxMessage.objects.exists()


# --- XML submissions ---------------------------------------------------------------------------


def test_a_list_whose_dispatch_never_ran_is_signed_and_sent_by_the_sweep(
    send: Send, customs: tuple[Partner, str], agent_signing_key: EnterpriseSigningKey
) -> None:
    docs = parcel(12)
    submit(send, docs)
    inventory = list_of(docs)
    # As if the process died between the commit and the dispatch: nothing enqueued, the mark left.
    OutboxMessage.objects.filter(destination_kind="customs").delete()
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    Inventory.objects.filter(pk=inventory.pk).update(dispatch_requested_at=long_ago)

    assert gateway.dispatch_sweep() == 1

    message = only_message()
    assert (message.ordering_key, message.state) == (f"inventory:{inventory.pk}", OutboxState.PENDING)
    assert_signed_with(read(message_body(message)), agent_signing_key)
    inventory.refresh_from_db()
    assert (inventory.status, inventory.dispatch_requested_at) == (InventoryStatus.DECLARED, None)
    assert gateway.dispatch_sweep() == 0
    assert OutboxMessage.objects.filter(destination_kind="customs").count() == 1


def test_a_list_the_agent_signed_itself_alone_in_its_message_is_forwarded_byte_for_byte(
    send: Send, clients: dict[str, APIClient], customs: tuple[Partner, str], agent: Persona, agent_keys: KeyPair
) -> None:
    # The certificate only: no signing key, so anything but forwarding would fail.
    hub.certificate_register(enterprise=agent.enterprise, certificate_pem=agent_keys.certificate_text, actor=TEST_ACTOR)
    docs = parcel(5)
    submit(send, docs, arrival=("order", "payment", "waybill"))
    body = message_xml("inventory", [docs["inventory"]], cop_code=AGENT_CODE, keys=agent_keys)

    response = clients["agent"].post(url("inventory"), data=body, content_type="application/xml")

    assert response.status_code == 200, response.content
    inventory = list_of(docs)
    assert inventory.status == InventoryStatus.DECLARED
    assert inventory.source_message is not None
    assert message_body(only_message()) == body


def test_a_list_changed_over_json_after_its_xml_is_signed_by_the_gateway_not_forwarded(
    send: Send,
    clients: dict[str, APIClient],
    customs: tuple[Partner, str],
    agent_keys: KeyPair,
    agent_signing_key: EnterpriseSigningKey,
) -> None:
    docs = parcel(6)
    body = message_xml("inventory", [docs["inventory"]], cop_code=AGENT_CODE, keys=agent_keys)
    clients["agent"].post(url("inventory"), data=body, content_type="application/xml")
    assert list_of(docs).source_message is not None
    changed = {**docs["inventory"], "app_type": "2", "app_time": "20261125120000", "note": "changed"}
    assert send("inventory", changed).status_code == 200

    submit(send, docs, arrival=("order", "payment", "waybill"))

    inventory = list_of(docs)
    assert (inventory.status, inventory.source_message) == (InventoryStatus.DECLARED, None)
    sent = message_body(only_message())
    assert sent != body
    assert_signed_with(read(sent), agent_signing_key)


# --- Cancellations -----------------------------------------------------------------------------


def _released(inventory: Inventory) -> Inventory:
    now = datetime.datetime.now(datetime.UTC)
    receipt(inventory, "120", now)
    receipt(inventory, "800", now + datetime.timedelta(seconds=1))
    Inventory.objects.filter(pk=inventory.pk).update(invt_no="29012026I000000001")
    inventory.refresh_from_db()
    return inventory


def test_a_cancellation_leaves_as_a_signed_ceb623_after_its_list_and_is_marked_sent(
    send: Send, customs: tuple[Partner, str], agent: Persona, agent_signing_key: EnterpriseSigningKey
) -> None:
    docs = parcel(7)
    submit(send, docs)
    inventory = _released(list_of(docs))

    cancellation = services.inventory_cancel_request(
        inventory=inventory, reason="买家退货 buyer returned it", requested_by=agent.enterprise
    )

    assert InventoryCancellation.objects.get(pk=cancellation.pk).status == InventoryCancellation.Status.SENT
    first, second = OutboxMessage.objects.filter(ordering_key=f"inventory:{inventory.pk}").order_by("id")
    assert (first.message_type, second.message_type) == (gateway.CEB621, gateway.CEB623)
    root = read(message_body(second), gateway.CEB623)
    assert_signed_with(root, agent_signing_key)
    [cancel] = root.findall(ceb("InvtCancel"))
    assert (cancel.findtext(ceb("invtNo")), cancel.findtext(ceb("agentCode")), cancel.findtext(ceb("reason"))) == (
        "29012026I000000001",
        AGENT_CODE,
        "买家退货 buyer returned it",
    )


def test_a_cancellation_that_cannot_be_signed_is_refused_and_not_recorded(
    send: Send, customs: tuple[Partner, str], agent: Persona, agent_signing_key: EnterpriseSigningKey
) -> None:
    docs = parcel(8)
    submit(send, docs)
    inventory = _released(list_of(docs))
    hub.signing_key_revoke(signing_key=agent_signing_key, actor=TEST_ACTOR)

    with pytest.raises(Conflict) as refused:
        services.inventory_cancel_request(inventory=inventory, reason="mistake", requested_by=agent.enterprise)

    assert refused.value.code == "cancel_not_sendable"
    assert not InventoryCancellation.objects.exists()
    assert OutboxMessage.objects.filter(message_type=gateway.CEB623).count() == 0


def test_a_ceb621_customs_never_took_puts_the_list_in_send_failed(
    send: Send, customs: tuple[Partner, str], agent_signing_key: EnterpriseSigningKey
) -> None:
    docs = parcel(9)
    submit(send, docs)
    message = only_message()
    message.last_error = "HTTP 503"

    gateway.on_customs_dead(message)

    inventory = list_of(docs)
    assert inventory.status == InventoryStatus.SEND_FAILED
    last = InventoryStatusChange.objects.filter(inventory=inventory).order_by("id").last()
    assert last is not None
    assert last.note == "customs did not take the message: HTTP 503"


# --- End to end over real HTTP -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def simulator_certificates(agent_keys: KeyPair) -> dict[str, bytes]:
    """The certificates the customs simulator knows, by enterprise code (a test may add some)."""
    return {AGENT_CODE: agent_keys.certificate_pem}


@pytest.fixture
def customs_simulator(
    customs: tuple[Partner, str], live_server: LiveServer, simulator_certificates: dict[str, bytes], tmp_path: Path
) -> Iterator[str]:
    """The customs simulator as its own process, knowing the signers' certificates; its base URL."""
    _partner, secret = customs
    certificates = tmp_path / "certificates"
    certificates.mkdir()
    for code, certificate in simulator_certificates.items():
        (certificates / f"{code}.pem").write_bytes(certificate)
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "simulators.customs",
        "--port",
        str(port),
        "--callback-url",
        f"{live_server.url}/api/v1/webhooks/customs",
        "--secret",
        secret,
        "--certificates",
        str(certificates),
        "--script",
        "default",
        "--step-delay",
        "0.2",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIM_CUSTOMS_")}
    log_path = tmp_path / "customs.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 15
            while not _healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the customs simulator did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _run_until_released(inventory: Inventory, *, timeout: float = 20.0, paid: bool = False) -> Inventory:
    """Relay the outbox and apply the inbox, as the workers would, until customs released the
    list and its tax bill is in (with ``paid``: until customs reported the bill paid)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outbox_relay_batch()
        for message_id in inbox.inbox_pending_ids():
            inbox.inbox_apply(message_id=message_id)
        inventory.refresh_from_db()
        bills = TaxBill.objects.filter(inventory_id=inventory.pk)
        if paid:
            bills = bills.exclude(ent_duty_no="")
        if inventory.status == InventoryStatus.RELEASED and bills.exists():
            return inventory
        time.sleep(0.1)
    pytest.fail(f"the list is {inventory.status} after {timeout} s")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("finance_participant")
def test_a_declared_list_is_signed_sent_to_customs_and_released_with_its_tax_bill(
    reseed_after_flush: None,
    send: Send,
    customs: tuple[Partner, str],
    customs_simulator: str,
    agent_signing_key: EnterpriseSigningKey,
) -> None:
    partner, _secret = customs
    Partner.objects.filter(pk=partner.pk).update(endpoint_url=f"{customs_simulator}/ceb")
    guarantee = guarantees.account_create(
        code=examples.INVENTORY["assure_code"],
        name="担保企业",
        amount=Decimal("1000.00"),
        actor=Actor.system("test"),
        reason="bank guarantee",
    )
    docs = parcel(10)

    submit(send, docs)
    inventory = _run_until_released(list_of(docs), paid=True)

    message = only_message()
    assert message.state == OutboxState.SENT
    received = httpx.get(f"{customs_simulator}/messages", timeout=5).json()["received"]
    assert [(r["message_type"], r["signers"], r["signature_problem"]) for r in received] == [
        (gateway.CEB621, [AGENT_CODE], "")
    ]
    receipts = InventoryStatusChange.objects.filter(
        inventory=inventory, source=StatusChangeSource.CUSTOMS_RECEIPT
    ).order_by("created_at", "id")
    assert [(r.receipt_code, r.to_status, r.applied) for r in receipts] == [
        ("2", "declared", True),
        ("120", "accepted", True),
        ("800", "released", True),
    ]
    assert inventory.invt_no
    year = quota()
    assert year is not None
    assert (year.reserved, year.consumed) == (Decimal(0), Decimal(408))
    bill = TaxBill.objects.get(inventory_id=inventory.pk)
    estimate = TaxEstimate.objects.get(inventory=inventory)
    # The simulator's rates are its own: where the bill differs from the estimate, it is flagged.
    expected = {
        name: (getattr(estimate, name), getattr(bill, name))
        for name in ("customs_tax", "value_added_tax", "consumption_tax")
        if getattr(estimate, name) != getattr(bill, name)
    }
    differences = {
        name: (Decimal(f["estimate"]), Decimal(f["bill"])) for name, f in bill.differences.items() if name != "items"
    }
    assert differences == expected
    assert bill.invt_no == inventory.invt_no
    # The guarantee: reserved at declare, used by the bill, free again once customs said it was paid.
    assert (bill.status, bill.ent_duty_no, bill.guarantee_effect) == ("2", f"DUTY{inventory.invt_no}", "freed")
    guarantee.refresh_from_db()
    assert (guarantee.reserved, guarantee.used) == (Decimal(0), Decimal(0))
    assert list(guarantee.movements.order_by("id").values_list("kind", flat=True)) == [
        "adjust",
        "reserve",
        "release",
        "bill",
        "free",
    ]


@pytest.fixture
def finance_participant() -> Iterator[None]:
    """The guarantee in the declare step (off in the test settings)."""
    contract.register_participant(FinanceParticipant())
    yield
    contract.unregister_participant("finance")


@pytest.fixture
def celery_worker_process(live_server: LiveServer, tmp_path: Path) -> Iterator[None]:
    """A real Celery worker, its own process, on the test database and the test broker.

    It runs what the web process hands it: the outbox relay kicked after a list is declared,
    and the inbox messages customs' receipts leave.
    """
    database = connection.settings_dict
    database_url = (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": database_url,
        "TEST_REDIS_URL": django_settings.CELERY_BROKER_URL,
    }
    # The web side kicks the worker through this process's Celery app: make it publish to the
    # broker the worker listens on, with fresh connections (an earlier test may have pointed the
    # app, or left pooled connections, at a broker of its own that it stopped since).
    celery_app.conf.broker_url = django_settings.CELERY_BROKER_URL  # type: ignore[misc]
    celery_app.conf.broker_transport_options = dict(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]
    log_path = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while b"ready." not in log_path.read_bytes():
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the worker did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reseed_after_flush", "celery_worker_process", "agent_signing_key")
def test_a_parcel_goes_from_submission_to_release_through_the_api_a_worker_and_customs(
    send: Send, customs: tuple[Partner, str], customs_simulator: str
) -> None:
    """Nothing here calls the relay or the inbox: the worker process does, as in production."""
    partner, _secret = customs
    Partner.objects.filter(pk=partner.pk).update(endpoint_url=f"{customs_simulator}/ceb")
    docs = parcel(11)

    submit(send, docs)
    inventory = list_of(docs)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        inventory.refresh_from_db()
        if inventory.status == InventoryStatus.RELEASED and TaxBill.objects.filter(inventory_id=inventory.pk).exists():
            break
        time.sleep(0.2)

    assert inventory.status == InventoryStatus.RELEASED
    assert only_message().state == OutboxState.SENT
    applied = InventoryStatusChange.objects.filter(
        inventory=inventory, source=StatusChangeSource.CUSTOMS_RECEIPT, applied=True
    ).values_list("receipt_code", flat=True)
    assert list(applied) == ["2", "120", "800"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush", "celery_worker_process", "agent_signing_key")
def test_a_parcel_held_for_review_reaches_customs_only_after_a_regulator_approves_it(
    send: Send, customs: tuple[Partner, str], customs_simulator: str
) -> None:
    """Risk sends the list to the regulators' queue; nothing leaves for customs until an officer
    of its district approves it in the admin; then the worker and customs release it."""
    partner, _secret = customs
    Partner.objects.filter(pk=partner.pk).update(endpoint_url=f"{customs_simulator}/ceb")
    RiskRule.objects.exclude(code="watch_list").update(enabled=False)
    RiskRule.objects.filter(code="watch_list").update(enabled=True, outcome="review")
    docs = parcel(12)
    WatchListEntry.objects.create(kind="enterprise", value=docs["inventory"]["ebc_code"], label="under watch")
    contract.register_participant(RiskParticipant())
    try:
        submit(send, docs)
        inventory = list_of(docs)
        assert inventory.status == InventoryStatus.RISK_REVIEW
        time.sleep(1)  # the worker had its chance: nothing may leave for a list under review
        assert not OutboxMessage.objects.filter(destination_kind="customs", message_type=gateway.CEB621).exists()

        officer = User.objects.create_user(username="officer", is_staff=True)
        officer.groups.add(Group.objects.get(name=CUSTOMS_OFFICER))
        RegulatorScope.objects.create(user=officer, customs_district=inventory.customs_code)
        admin = Client()
        admin.force_login(officer)
        answer = admin.post(
            f"/admin/declarations/inventoryinreview/{inventory.pk}/change/",
            {"decision": "approve", "reason": "invoice and identity checked"},
        )
        assert answer.status_code == 302
    finally:
        contract.unregister_participant("risk")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        inventory.refresh_from_db()
        if inventory.status == InventoryStatus.RELEASED:
            break
        time.sleep(0.2)
    assert inventory.status == InventoryStatus.RELEASED
    applied = InventoryStatusChange.objects.filter(
        inventory=inventory, source=StatusChangeSource.CUSTOMS_RECEIPT, applied=True
    ).values_list("receipt_code", flat=True)
    assert list(applied) == ["2", "120", "800"]
    assert Assessment.objects.get(inventory_id=inventory.pk).review == "approved"
