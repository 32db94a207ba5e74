"""A regulator's hold and the gateway's packing of the same list, in parallel transactions on
PostgreSQL: whichever takes the list's row first, the list either stays out of customs' reach
(held) or the hold is refused because the list has left; never both a hold and a message."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections, transaction
from django.utils import timezone
from pytest_django.fixtures import Settings

from declarations.customs import gateway
from declarations.models import CustomsMessageDocument, Inventory, ListHold
from declarations.tests.helpers import AGENT_CODE, Send
from declarations.tests.parcels import list_of, parcel, submit
from declarations.tests.workbench import S, regulator
from declarations.workbench import services
from single_window import services as hub
from single_window.models import PartnerKind
from single_window.roles import CUSTOMS_OFFICER
from tests.certificates import make_key_pair
from tests.factories import TEST_ACTOR, Persona

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("reseed_after_flush", "parties"),
]


@pytest.fixture
def officer(db: None) -> User:
    return regulator("officer-2901", CUSTOMS_OFFICER, customs_district="2901")


@pytest.fixture
def marked(send: Send, settings: Settings, agent: Persona) -> Inventory:
    """A declared list marked for the gateway and not packed yet; the gateway then switched on."""
    docs = parcel(1)
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == S.DECLARED
    Inventory.objects.filter(pk=inventory.pk).update(dispatch_requested_at=timezone.now())
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = "CUSTOMS-TEST"
    settings.CUSTOMS_DXP_ID = "DXPENT0000TEST01"
    hub.partner_register(code="CUSTOMS-TEST", name="Test customs", kind=PartnerKind.CUSTOMS, actor=TEST_ACTOR)
    keys = make_key_pair(common_name="Demo Customs Broker")
    hub.signing_key_register(
        enterprise=agent.enterprise,
        private_key_pem=keys.private_key_pem.decode(),
        certificate_pem=keys.certificate_text,
        actor=TEST_ACTOR,
    )
    return inventory


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``call`` in a thread of its own (its own connection); its result or error lands in the dict."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except Exception as exc:  # noqa: BLE001 - handed to the test, which asserts on it
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def pack() -> int:
    return gateway.documents_pack(kind="inventory", group=AGENT_CODE)


def test_the_packing_skips_a_list_being_held_and_then_leaves_it_unsent(marked: Inventory, officer: User) -> None:
    with transaction.atomic():
        services.lists_hold(user=officer, inventory_ids=[marked.pk], reason="a closer look")
        packing, packed = in_thread(pack)
        packing.join(timeout=30)
    claimed_after = pack()

    assert packed == {"result": 0}  # the row was locked by the hold: skipped, still marked
    assert claimed_after == 1  # then claimed, seen held, unmarked
    assert not CustomsMessageDocument.objects.filter(inventory=marked).exists()
    assert Inventory.objects.get(pk=marked.pk).dispatch_requested_at is None


def test_a_hold_asked_while_the_list_is_packed_waits_and_is_refused(marked: Inventory, officer: User) -> None:
    with transaction.atomic():
        assert pack() == 1
        holding, held = in_thread(
            lambda: services.lists_hold(user=officer, inventory_ids=[marked.pk], reason="a closer look")
        )
        time.sleep(0.5)
        assert holding.is_alive()  # waiting for the packing's row lock
    holding.join(timeout=30)

    assert isinstance(held.get("error"), services.ActionRefused)
    assert held["error"].code == services.AT_CUSTOMS
    assert CustomsMessageDocument.objects.filter(inventory=marked).exists()
    assert not ListHold.objects.exists()
