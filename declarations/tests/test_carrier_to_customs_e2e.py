"""End to end, with every partner its own process: a parcel is declared and released by the
customs simulator; the carrier simulator, given its waybill, reports the journey by signed
webhooks; the delivery of the released parcel reaches the customs simulator as a CEB513 signed
for the carrier, and customs' CEB514 comes back and is applied. The list stays released."""

# The gateway tests' fixtures are imported by name, and pytest hands them in by name.
# ruff: noqa: F811

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytest_django.live_server_helper import LiveServer

from declarations.customs import delivery
from declarations.models import InventoryStatus, WaybillDeliveryNotice
from declarations.tests.helpers import AGENT_CODE, Send
from declarations.tests.parcels import list_of, parcel, submit
from declarations.tests.test_gateway import (  # noqa: F401
    ROOT,
    _free_port,
    _healthy,
    _run_until_released,
    agent_keys,
    agent_signing_key,
    customs,
    customs_simulator,
    gateway_on,
)
from logistics.models import WaybillTrack
from single_window import inbox
from single_window import services as hub
from single_window.models import EnterpriseSigningKey, InboxMessage, Partner, PartnerKind
from single_window.outbox import outbox_relay_batch
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona


@pytest.fixture(scope="module")
def logistics_keys() -> KeyPair:
    return make_key_pair(common_name="Demo Logistics")


@pytest.fixture
def simulator_certificates(agent_keys: KeyPair, logistics_keys: KeyPair, logistics: Persona) -> dict[str, bytes]:
    assert logistics.enterprise.customs_code is not None
    return {AGENT_CODE: agent_keys.certificate_pem, logistics.enterprise.customs_code: logistics_keys.certificate_pem}


@pytest.fixture
def logistics_signing_key(logistics: Persona, logistics_keys: KeyPair) -> EnterpriseSigningKey:
    return hub.signing_key_register(
        enterprise=logistics.enterprise,
        private_key_pem=logistics_keys.private_key_text,
        certificate_pem=logistics_keys.certificate_text,
        actor=TEST_ACTOR,
    )


@pytest.fixture
def carrier_simulator(logistics: Persona, live_server: LiveServer, tmp_path: Path) -> Iterator[str]:
    """The carrier, a partner bound to the logistics enterprise's code, as its own process."""
    assert logistics.enterprise.customs_code is not None
    _partner, secret = hub.partner_register(
        code=logistics.enterprise.customs_code, name="Demo carrier", kind=PartnerKind.CARRIER, actor=TEST_ACTOR
    )
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "simulators.carrier",
        "--port",
        str(port),
        "--callback-url",
        f"{live_server.url}/api/v1/webhooks/carriers",
        "--secret",
        secret,
        "--step-delay",
        "0.05",
        "--duplicate-rate",
        "0.3",
        "--reorder-rate",
        "0.3",
        "--seed",
        "5",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIM_CARRIER_")}
    log_path = tmp_path / "carrier.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 15
            while not _healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the carrier simulator did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.timeout(300)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush", "agent_signing_key", "logistics_signing_key")
def test_the_carrier_s_delivery_of_a_released_parcel_reaches_customs_as_ceb513(
    send: Send, customs: tuple[Partner, str], customs_simulator: str, carrier_simulator: str
) -> None:
    partner, _secret = customs
    Partner.objects.filter(pk=partner.pk).update(endpoint_url=f"{customs_simulator}/ceb")
    docs = parcel(11)
    submit(send, docs)
    inventory = _run_until_released(list_of(docs))

    given = httpx.post(
        f"{carrier_simulator}/waybills",
        json={"logistics_code": inventory.logistics_code, "logistics_no": inventory.logistics_no, "mode": "air"},
        timeout=5,
    )
    assert given.status_code == 202, given.text

    # Three processes on a shared machine: the journey's seven events, the CEB513 and its answer.
    deadline = time.monotonic() + 150
    notice = None
    while time.monotonic() < deadline:
        outbox_relay_batch()
        for message_id in inbox.inbox_pending_ids():
            inbox.inbox_apply(message_id=message_id)
        notice = WaybillDeliveryNotice.objects.filter(logistics_no=inventory.logistics_no).first()
        if notice is not None and notice.status == "answered":
            break
        time.sleep(0.1)
    assert notice is not None, (
        list(InboxMessage.objects.values_list("message_type", "state", "note")),
        list(WaybillTrack.objects.values_list("logistics_no", "known", "current_status", "delivery_notice")),
        httpx.get(f"{carrier_simulator}/messages", timeout=5).text[:3000],
    )
    assert (notice.status, notice.return_status) == ("answered", "120")

    received = httpx.get(f"{customs_simulator}/messages", timeout=5).json()["received"]
    ceb513 = [r for r in received if r["message_type"] == delivery.CEB513]
    assert [(r["signers"], r["signature_problem"]) for r in ceb513] == [([inventory.logistics_code], "")]
    track = WaybillTrack.objects.get(logistics_no=inventory.logistics_no)
    assert (track.current_status, track.delivery_notice) == ("delivered", "sent")
    assert track.events.count() == 7  # duplicates sent by the carrier stored once
    inventory.refresh_from_db()
    assert inventory.status == InventoryStatus.RELEASED
