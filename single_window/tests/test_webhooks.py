"""Outbound webhooks: endpoints over the API, Standard Webhooks signatures checked by hand,
rotation with overlap, the delivery log, redelivery, dead letters and refused addresses."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from core import errors
from core.times import iso_china
from declarations.event_types import DOCUMENT_ACCEPTED, INVENTORY_STATUS_CHANGED
from single_window import outbox, webhooks
from single_window.events import event_publish
from single_window.models import Event, OutboxMessage, OutboxState, WebhookEndpoint
from tests.factories import Persona, assert_problem
from tests.fake_receiver import FakeReceiver, Received

ENDPOINTS = "/api/v1/webhooks/endpoints"
DELIVERIES = "/api/v1/webhooks/deliveries"
STATUS_CHANGED = INVENTORY_STATUS_CHANGED


def register(client: APIClient, url: str, event_types: list[str] | None = None) -> dict[str, Any]:
    response = client.post(ENDPOINTS, {"url": url, "event_types": event_types or [STATUS_CHANGED]}, format="json")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def publish(persona: Persona, n: int = 1, type_: str = STATUS_CHANGED) -> Event:
    with transaction.atomic():
        return event_publish(
            enterprise=persona.enterprise, type=type_, payload={"inventory_id": n}, subject=f"inventory:{n}"
        )


def expected_signature(secret: str, received: Received) -> str:
    """Standard Webhooks, by hand: base64 HMAC-SHA256 of "id.timestamp.body" keyed with the
    base64-decoded part of the secret after whsec_."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode() + received.body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# --- Endpoints -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_registering_an_endpoint_returns_its_secret_once_and_keeps_it_encrypted(
    owner_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    body = register(owner_client, webhook_receiver.url)

    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    stored = WebhookEndpoint.objects.get(pk=body["id"])
    assert secret not in stored.secret_encrypted
    assert stored.event_types == [STATUS_CHANGED]
    listed = owner_client.get(ENDPOINTS).json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]
    detail = owner_client.get(f"{ENDPOINTS}/{body['id']}").json()
    assert detail == {k: v for k, v in body.items() if k != "secret"}


@pytest.mark.django_db
def test_an_unknown_event_type_is_refused(owner_client: APIClient, webhook_receiver: FakeReceiver) -> None:
    response = owner_client.post(
        ENDPOINTS, {"url": webhook_receiver.url, "event_types": ["inventory.exploded"]}, format="json"
    )

    assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.django_db
def test_an_outsider_cannot_see_or_touch_anothers_endpoints_or_deliveries(
    owner: Persona, owner_client: APIClient, outsider_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    endpoint = register(owner_client, webhook_receiver.url)
    publish(owner)
    delivery = OutboxMessage.objects.get()

    assert outsider_client.get(ENDPOINTS).json() == []
    assert outsider_client.get(DELIVERIES).json() == []
    assert_problem(outsider_client.get(f"{ENDPOINTS}/{endpoint['id']}"), 404, errors.NOT_FOUND)
    assert_problem(outsider_client.delete(f"{ENDPOINTS}/{endpoint['id']}"), 404, errors.NOT_FOUND)
    assert_problem(outsider_client.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret"), 404, errors.NOT_FOUND)
    assert_problem(outsider_client.post(f"{DELIVERIES}/{delivery.pk}/redeliver"), 404, errors.NOT_FOUND)
    stored = WebhookEndpoint.objects.get(pk=endpoint["id"])
    assert (stored.deleted_at, stored.previous_secret_encrypted) == (None, "")


@pytest.mark.django_db
def test_deleting_an_endpoint_stops_its_deliveries(
    owner: Persona, owner_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    endpoint = register(owner_client, webhook_receiver.url)
    publish(owner)

    assert owner_client.delete(f"{ENDPOINTS}/{endpoint['id']}").status_code == 204

    assert_problem(owner_client.get(f"{ENDPOINTS}/{endpoint['id']}"), 404, errors.NOT_FOUND)
    assert OutboxMessage.objects.get().state == OutboxState.DISCARDED
    publish(owner, 2)
    assert OutboxMessage.objects.count() == 1  # nothing new queued for it
    assert outbox.outbox_relay_batch() == 0
    assert webhook_receiver.requests == []


# --- Delivery and signatures ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_delivery_is_signed_per_standard_webhooks(
    owner: Persona, owner_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    secret = register(owner_client, webhook_receiver.url, [STATUS_CHANGED])["secret"]
    event = publish(owner, 81)
    publish(owner, 82, DOCUMENT_ACCEPTED)  # not subscribed

    assert outbox.outbox_relay_batch() == 1

    (received,) = webhook_receiver.requests
    message = OutboxMessage.objects.get()
    assert received.headers["webhook-id"] == f"msg_{message.pk}"
    assert abs(int(received.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 10
    assert received.headers["webhook-signature"] == expected_signature(secret, received)
    assert received.headers["content-type"] == "application/json"
    assert json.loads(received.body) == {
        "id": event.pk,
        "sequence": 1,
        "type": "inventory.status_changed",
        "subject": "inventory:81",
        "timestamp": iso_china(event.created_at),
        "data": {"inventory_id": 81},
    }
    assert message.state == OutboxState.SENT


@pytest.mark.django_db
def test_the_body_gives_the_event_time_in_china_standard_time(
    owner: Persona, owner_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    register(owner_client, webhook_receiver.url)
    # 02:02:11.12 UTC is 10:02:11.12 in Beijing; the body must say so, not +00:00.
    with time_machine.travel(datetime.datetime(2026, 11, 25, 2, 2, 11, 120000, tzinfo=datetime.UTC), tick=False):
        publish(owner)
        assert outbox.outbox_relay_batch() == 1

    (received,) = webhook_receiver.requests
    assert json.loads(received.body)["timestamp"] == "2026-11-25T10:02:11.120000+08:00"


@pytest.mark.django_db
def test_retries_keep_the_webhook_id_and_sign_afresh(
    owner: Persona, owner_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    secret = register(owner_client, webhook_receiver.url)["secret"]
    webhook_receiver.answer(503)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        publish(owner)
        outbox.outbox_relay_batch()
    with time_machine.travel(start + datetime.timedelta(minutes=1), tick=False):
        outbox.outbox_relay_batch()

    first, second = webhook_receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 60
    assert all(r.headers["webhook-signature"] == expected_signature(secret, r) for r in (first, second))


@pytest.mark.django_db
def test_after_a_rotation_both_secrets_sign_for_24_hours(
    owner: Persona, owner_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    endpoint = register(owner_client, webhook_receiver.url)
    old = endpoint["secret"]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        rotated = owner_client.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret").json()
        publish(owner, 1)
        outbox.outbox_relay_batch()
    new = rotated["secret"]
    assert new != old
    assert rotated["rotating_until"] is not None

    during = webhook_receiver.requests[-1]
    assert during.headers["webhook-signature"].split(" ") == [
        expected_signature(new, during),
        expected_signature(old, during),
    ]

    with time_machine.travel(start + datetime.timedelta(hours=24, seconds=1), tick=False):
        publish(owner, 2)
        outbox.outbox_relay_batch()
    after = webhook_receiver.requests[-1]
    assert after.headers["webhook-signature"] == expected_signature(new, after)


# --- Dead letters and the delivery log ------------------------------------------------------


def fail_until_dead(receiver: FakeReceiver) -> datetime.datetime:
    receiver.answer(*[500] * outbox.MAX_ATTEMPTS)
    now = timezone.now()
    for _attempt in range(outbox.MAX_ATTEMPTS):
        with time_machine.travel(now, tick=False):
            outbox.outbox_relay_batch()
        message = OutboxMessage.objects.order_by("id").first()
        assert message is not None
        now = message.next_attempt_at + datetime.timedelta(seconds=1)
    return now


@pytest.mark.django_db
def test_a_dead_delivery_puts_a_dead_letter_in_the_feed_and_not_to_the_endpoint_that_died(
    owner: Persona, owner_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    register(owner_client, webhook_receiver.url, [STATUS_CHANGED, webhooks.OUTBOX_DEAD_LETTER])
    event = publish(owner)

    now = fail_until_dead(webhook_receiver)

    delivery = OutboxMessage.objects.get(event=event)
    assert delivery.state == OutboxState.DEAD
    events = owner_client.get("/api/v1/events").json()["events"]
    assert [e["type"] for e in events] == ["inventory.status_changed", "outbox.dead_letter"]
    assert events[1]["data"] == {
        "delivery_id": delivery.pk,
        "endpoint_id": delivery.webhook_endpoint_id,
        "event_type": "inventory.status_changed",
        "event_id": event.pk,
        "attempts": outbox.MAX_ATTEMPTS,
        "last_error": "HTTP 500",
    }
    assert OutboxMessage.objects.count() == 1  # the dead letter is not sent to the endpoint that died
    with time_machine.travel(now, tick=False):
        assert outbox.outbox_relay_batch() == 0


@pytest.mark.django_db
def test_the_delivery_log_shows_each_attempt_and_a_dead_delivery_is_redelivered(
    owner: Persona, owner_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    endpoint = register(owner_client, webhook_receiver.url)
    publish(owner)
    webhook_receiver.response_body = b"nope"
    now = fail_until_dead(webhook_receiver)

    (dead,) = owner_client.get(DELIVERIES, {"endpoint": endpoint["id"], "state": "dead"}).json()
    assert dead["webhook_id"] == f"msg_{dead['id']}"
    assert (dead["state"], dead["attempts"], dead["event_type"]) == ("dead", 13, "inventory.status_changed")
    assert len(dead["attempt_log"]) == 13
    assert {(a["status_code"], a["response_excerpt"]) for a in dead["attempt_log"]} == {(500, "nope")}
    assert all(a["latency_ms"] >= 0 for a in dead["attempt_log"])
    assert owner_client.get(DELIVERIES, {"state": "sent"}).json() == []
    assert_problem(owner_client.get(DELIVERIES, {"state": "lost"}), 400, errors.VALIDATION_FAILED)

    with time_machine.travel(now, tick=False):
        response = owner_client.post(f"{DELIVERIES}/{dead['id']}/redeliver")
        assert response.status_code == 202
        assert (response.json()["state"], response.json()["attempts"]) == ("pending", 0)
        assert_problem(owner_client.post(f"{DELIVERIES}/{dead['id']}/redeliver"), 409, outbox.MESSAGE_NOT_REDELIVERABLE)
        assert outbox.outbox_relay_batch() == 1

    assert OutboxMessage.objects.get(pk=dead["id"]).state == OutboxState.SENT
    assert webhook_receiver.requests[-1].headers["webhook-id"] == dead["webhook_id"]


# --- Refused addresses ---------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/hooks",
        "http://127.0.0.1/hooks",
        "http://10.0.0.1/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
        "http://0.0.0.0/hooks",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(owner_client: APIClient, url: str) -> None:
    response = owner_client.post(ENDPOINTS, {"url": url, "event_types": [STATUS_CHANGED]}, format="json")

    body = assert_problem(response, 400, webhooks.WEBHOOK_URL_NOT_ALLOWED)
    assert body["errors"][0]["field"] == "url"
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.django_db
def test_an_address_that_became_private_is_refused_at_delivery(
    owner: Persona, owner_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    register(owner_client, webhook_receiver.url)
    publish(owner)

    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False):
        outbox.outbox_relay_batch()

    assert webhook_receiver.requests == []
    message = OutboxMessage.objects.get()
    assert message.state == OutboxState.PENDING
    assert message.last_error.startswith("URL refused")


def test_public_addresses_pass_the_check() -> None:
    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False):
        assert webhooks._address_is_public("93.184.215.14")
        assert not webhooks._address_is_public("::ffff:10.0.0.1")
        assert not webhooks._address_is_public("192.168.1.20")
        assert webhooks.url_refusal("ftp://example.com/") == "not an http(s) URL"
