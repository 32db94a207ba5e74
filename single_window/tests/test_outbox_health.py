"""Health reads the outbox: a message due long ago and still pending means no relay is running.

A message waiting for its next retry (due later) is the relay working, not a stalled one.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from core import health
from single_window import outbox
from single_window.models import OutboxDestination, OutboxMessage, OutboxState

HEALTH = "/api/v1/health"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def worker_alive() -> None:
    health.heartbeat_record(name="worker@tests")


def _pending(*, due: datetime.datetime) -> OutboxMessage:
    with transaction.atomic():
        message = outbox.outbox_enqueue(
            destination_kind=OutboxDestination.PARTNER,
            destination="PAY-TEST",
            ordering_key="health-test",
            message_type="test",
            payload={"n": 1},
        )
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=due)
    return message


def test_a_message_pending_past_the_limit_is_degraded_with_the_reason(client: Client, settings: Settings) -> None:
    settings.HEALTH_OUTBOX_MAX_AGE_SECONDS = 300
    _pending(due=timezone.now() - datetime.timedelta(seconds=420))

    response = client.get(HEALTH)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    check = body["checks"]["outbox"]
    assert check["status"] == "down"
    assert check["error"] == "an outbox message has been due for 420 s (limit 300 s)"
    assert body["checks"]["database"]["status"] == "ok"


def test_a_message_due_recently_is_ok(client: Client, settings: Settings) -> None:
    settings.HEALTH_OUTBOX_MAX_AGE_SECONDS = 300
    _pending(due=timezone.now() - datetime.timedelta(seconds=30))

    response = client.get(HEALTH)

    assert response.json()["checks"]["outbox"]["status"] == "ok"
    assert response.json()["status"] == "ok"


def test_a_message_waiting_for_a_later_retry_is_ok(client: Client, settings: Settings) -> None:
    settings.HEALTH_OUTBOX_MAX_AGE_SECONDS = 300
    message = _pending(due=timezone.now() + datetime.timedelta(hours=2))
    # Written long ago; what counts is when it became due.
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - datetime.timedelta(days=1))

    assert client.get(HEALTH).json()["checks"]["outbox"]["status"] == "ok"


def test_old_messages_already_sent_or_given_up_do_not_count(client: Client, settings: Settings) -> None:
    settings.HEALTH_OUTBOX_MAX_AGE_SECONDS = 300
    long_ago = timezone.now() - datetime.timedelta(days=1)
    for state in (OutboxState.SENT, OutboxState.DEAD, OutboxState.DISCARDED):
        message = _pending(due=long_ago)
        OutboxMessage.objects.filter(pk=message.pk).update(
            state=state, attempts=1, sent_at=long_ago if state == OutboxState.SENT else None
        )

    assert client.get(HEALTH).json()["checks"]["outbox"]["status"] == "ok"
