"""The declarations tell the enterprises concerned: documents accepted, matching results and
every status change of a list reach the feed (and the webhooks), with no personal data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from declarations.intake import examples
from declarations.models import InventoryStatus
from declarations.tests.helpers import BUYER_ID, BUYER_NAME, Send
from declarations.tests.parcels import list_of, parcel, submit
from single_window import outbox, webhooks
from single_window.models import Event
from tests.factories import TEST_ACTOR, Persona
from tests.fake_receiver import FakeReceiver


def feed(client: APIClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get("/api/v1/events", {"limit": 1000}).json()["events"]
    return events


def kinds_and_statuses(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (e["type"], e["data"].get("to_status") or e["data"].get("kind") or str(e["data"].get("passed"))) for e in events
    ]


@pytest.mark.django_db
def test_submitting_a_parcel_tells_the_declaring_agent_and_the_e_commerce_enterprise(
    send: Send, parties: dict[str, Persona], clients: dict[str, APIClient]
) -> None:
    docs = parcel(1)

    submit(send, docs)

    inventory = list_of(docs)
    assert inventory.status == InventoryStatus.DECLARED
    agent_events = feed(clients["agent"])
    assert kinds_and_statuses(agent_events) == [
        ("inventory.status_changed", "pending_documents"),
        ("document.accepted", "inventory"),
        ("inventory.matching_result", "True"),
        ("inventory.status_changed", "matched"),
        ("inventory.status_changed", "declared"),
    ]
    assert [e["sequence"] for e in agent_events] == [1, 2, 3, 4, 5]
    accepted = agent_events[1]["data"]
    assert (accepted["document_id"], accepted["version"], accepted["created"]) == (inventory.pk, 1, True)
    changed = agent_events[-1]["data"]
    assert changed["inventory_id"] == inventory.pk
    assert (changed["from_status"], changed["to_status"]) == ("matched", "declared")
    assert changed["cop_no"] == inventory.cop_no
    assert agent_events[2]["data"]["failed_rules"] == []
    assert all(e["subject"] == f"inventory:{inventory.pk}" for e in agent_events)

    # The e-commerce enterprise named on the list hears about the list, not the documents.
    assert kinds_and_statuses(feed(clients["ebc"])) == [
        ("inventory.status_changed", "pending_documents"),
        ("inventory.matching_result", "True"),
        ("inventory.status_changed", "matched"),
        ("inventory.status_changed", "declared"),
    ]
    # The other senders hear that their documents were accepted.
    for party, kind in (("ebp", "order"), ("pay", "payment"), ("logistics", "waybill")):
        assert kinds_and_statuses(feed(clients[party])) == [("document.accepted", kind)]
    assert feed(clients["outsider"]) == []

    everything = json.dumps(list(Event.objects.values_list("payload", flat=True)), ensure_ascii=False)
    for personal in (BUYER_ID, BUYER_NAME, examples.ORDER["consignee_telephone"], examples.ORDER["consignee_address"]):
        assert personal not in everything


@pytest.mark.django_db
def test_a_parcel_that_fails_matching_names_the_failed_rules(
    send: Send, parties: dict[str, Persona], clients: dict[str, APIClient]
) -> None:
    docs = parcel(2)
    docs["payment"]["amount_paid"] = "1.00"

    submit(send, docs)

    result = next(e for e in feed(clients["agent"]) if e["type"] == "inventory.matching_result")
    assert result["data"]["passed"] is False
    assert result["data"]["failed_rules"]
    assert list_of(docs).status == InventoryStatus.MATCH_FAILED


@pytest.mark.django_db
def test_the_e_commerce_enterprise_receives_the_status_changes_by_signed_webhook(
    send: Send, parties: dict[str, Persona], webhook_receiver: FakeReceiver
) -> None:
    with transaction.atomic():
        _endpoint, secret = webhooks.webhook_endpoint_create(
            enterprise=parties["ebc"].enterprise,
            url=webhook_receiver.url,
            event_types=["inventory.status_changed"],
            actor=TEST_ACTOR,
        )

    submit(send, parcel(3))
    while outbox.outbox_relay_batch():
        pass

    bodies = [json.loads(r.body) for r in webhook_receiver.requests]
    assert [b["data"]["to_status"] for b in bodies] == ["pending_documents", "matched", "declared"]
    assert [b["sequence"] for b in bodies] == sorted(b["sequence"] for b in bodies)
    for received in webhook_receiver.requests:
        headers = {k: v for k, v in received.headers.items() if k.startswith("webhook-")}
        assert webhooks.standard_webhooks.verify(secret=secret, headers=headers, body=received.body)
