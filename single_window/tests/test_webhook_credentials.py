"""Webhook URLs carry no credentials: refused at registration, never sent to, never logged.

A URL such as ``https://user:secret@host/hooks`` would keep a password in the endpoint table,
the audit log and the delivery logs (httpx logs every request's URL), and send it to whoever
the host resolves to. Receivers authenticate the single window by the signature instead.
"""

from __future__ import annotations

import logging

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from core.audit import Actor
from core.models import AuditEntry
from declarations.event_types import INVENTORY_STATUS_CHANGED
from single_window import outbox, webhooks
from single_window.error_codes import WEBHOOK_URL_NOT_ALLOWED
from single_window.events import event_publish
from single_window.models import OutboxMessage, OutboxState, WebhookEndpoint
from tests.factories import Persona, assert_problem
from tests.fake_receiver import FakeReceiver

ENDPOINTS = "/api/v1/webhooks/endpoints"
SECRET = "s3cr3t-pw"

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "credentials",
    [f"user:{SECRET}@", f"{SECRET}@", f"{SECRET}:@"],
    ids=["user-and-password", "user-only", "empty-password"],
)
def test_a_url_with_credentials_is_refused_at_registration(
    owner_client: APIClient, webhook_receiver: FakeReceiver, credentials: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = webhook_receiver.url.replace("://", f"://{credentials}", 1)

    with caplog.at_level(logging.DEBUG):
        response = owner_client.post(ENDPOINTS, {"url": url, "event_types": [INVENTORY_STATUS_CHANGED]}, format="json")

    body = assert_problem(response, 400, WEBHOOK_URL_NOT_ALLOWED)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("url", WEBHOOK_URL_NOT_ALLOWED)]
    assert SECRET not in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0
    assert not AuditEntry.objects.filter(object_type__icontains="webhook").exists()
    assert SECRET not in caplog.text


def test_an_endpoint_stored_with_credentials_is_never_posted_to_nor_logged(
    owner: Persona, webhook_receiver: FakeReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A row from before the rule: the check at every delivery refuses it too."""
    endpoint = WebhookEndpoint.objects.create(
        enterprise=owner.enterprise,
        url=webhook_receiver.url.replace("://", f"://user:{SECRET}@", 1),
        event_types=[INVENTORY_STATUS_CHANGED],
        secret_encrypted=webhooks.encrypt_text(webhooks.new_secret()),
    )
    with transaction.atomic():
        event_publish(
            enterprise=owner.enterprise, type=INVENTORY_STATUS_CHANGED, payload={"inventory_id": 1}, subject="i:1"
        )

    with caplog.at_level(logging.DEBUG):
        outbox.outbox_relay_batch()

    assert webhook_receiver.requests == []
    message = OutboxMessage.objects.get(webhook_endpoint=endpoint)
    assert message.state == OutboxState.PENDING
    assert message.last_error.startswith("URL refused")
    assert SECRET not in message.last_error
    assert SECRET not in caplog.text


def test_the_service_refuses_credentials_too() -> None:
    assert webhooks.url_refusal(f"https://user:{SECRET}@example.com/hooks") == "the URL carries credentials"
    assert webhooks.url_refusal(f"https://user:{SECRET}@[::1]/hooks") == "the URL carries credentials"


def test_a_register_call_from_code_is_refused_as_the_api_does(owner: Persona) -> None:
    with pytest.raises(webhooks.InvalidInput) as refused:
        webhooks.webhook_endpoint_create(
            enterprise=owner.enterprise,
            url=f"https://user:{SECRET}@erp.example.com/hooks",
            event_types=[INVENTORY_STATUS_CHANGED],
            actor=Actor.system("tests"),
        )

    assert SECRET not in str(refused.value.detail)
    assert WebhookEndpoint.objects.count() == 0
