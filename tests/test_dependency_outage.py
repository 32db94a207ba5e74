"""With Redis unreachable the API keeps serving.

The cache (throttle counters) and the broker (task kicks) live in Redis; documents, the outbox
and the inbox live in PostgreSQL. With the cache and the broker pointed at a port where nothing
listens, an authenticated call and a partner's signed webhook are still answered 2xx and
their rows stored: throttling falls back to a counter in the process, kicks are left to the
periodic sweeps, health says ``degraded``. The shared Redis of the suite is never touched.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kombu.exceptions import OperationalError
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from config.celery import app as celery_app
from config.settings.base import celery_transport_options, redis_cache
from core.audit import Actor
from declarations.event_types import DOCUMENT_ACCEPTED
from declarations.intake import examples
from declarations.models import Order
from declarations.tests.helpers import Send
from single_window import throttling, webhooks
from single_window.models import InboxMessage, OutboxMessage, OutboxState, PartnerKind
from tests.factories import Persona
from tests.partner_webhooks import post_webhook, register_partner, signed_headers
from tests.ports import free_port

pytestmark = pytest.mark.django_db

HEALTH = "/api/v1/health"


def _drop_broker_connections() -> None:
    """Celery read its broker URL once and pools its connections: forget them, so the next
    publish connects to whatever ``broker_url`` says now (what a fork does, ``_after_fork``)."""
    celery_app._pool = None  # type: ignore[attr-defined]  # no public way to swap a live app's broker
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def redis_gone(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The cache and the broker on a port where nothing listens, for this test only."""
    # The fallback's counters and its log live as long as the process: start with none.
    monkeypatch.setattr(throttling, "LOCAL_WINDOWS", throttling.LocalFixedWindow())
    monkeypatch.setattr(throttling, "OUTAGE_LOG", throttling.CacheOutageLog())
    url = f"redis://127.0.0.1:{free_port()}/0"
    # Changing CACHES makes Django drop the cache connections it holds (setting_changed).
    settings.CACHES = {"default": redis_cache(url)}
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(url)
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = url  # type: ignore[misc]  # the stubs know no writable setting
    _drop_broker_connections()
    try:
        yield url
    finally:
        celery_app.conf.broker_url = previous  # type: ignore[misc]
        _drop_broker_connections()


def test_an_order_is_stored_while_redis_is_unreachable(
    redis_gone: str, send: Send, parties: dict[str, Persona], caplog: pytest.LogCaptureFixture
) -> None:
    webhooks.webhook_endpoint_create(
        enterprise=parties["ebp"].enterprise,
        url="https://erp.example.com/hooks",
        event_types=[DOCUMENT_ACCEPTED],
        actor=Actor.system("tests"),
    )

    with caplog.at_level(logging.WARNING):
        response = send("order")

    assert response.status_code == 201, response.content
    assert Order.objects.filter(order_no=examples.ORDER["order_no"]).count() == 1
    # The event for the platform's webhook waits in the outbox; the relay kick found no broker.
    delivery = OutboxMessage.objects.get(webhook_endpoint__enterprise=parties["ebp"].enterprise)
    assert delivery.state == OutboxState.PENDING
    assert any("throttl" in record.getMessage() for record in caplog.records)


def test_a_signed_customs_webhook_is_stored_while_redis_is_unreachable(
    redis_gone: str, django_capture_on_commit_callbacks: Any
) -> None:
    customs = register_partner("CUSTOMS-TEST", PartnerKind.CUSTOMS)
    body = b"<CEB622Message><x/></CEB622Message>"

    # The kick of the apply task runs after the commit, as in production, against no broker.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_webhook(body, signed_headers(customs.secret, body))

    assert response.status_code == 202, response.content
    assert len(callbacks) == 1
    message = InboxMessage.objects.get()
    # Stored and waiting: the sweep applies it once the broker is back.
    assert (message.partner, message.state) == (customs.partner, InboxMessage.State.RECEIVED)


def test_the_throttle_still_limits_while_redis_is_unreachable(redis_gone: str, send: Send, settings: Settings) -> None:
    settings.API_THROTTLE_RATE = "1/min"

    assert send("order").status_code == 201
    refused = send("order", order_no="SW20261125000002")

    assert refused.status_code == 429, refused.content
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) >= 1
    assert Order.objects.count() == 1


def test_a_kick_gives_up_at_once_when_the_broker_is_away(redis_gone: str) -> None:
    """Kicks run in the request that wrote the outbox or inbox row: an away broker must cost it
    a moment, not kombu's default reconnection loop (about 6 s, per request)."""
    started = time.monotonic()
    with pytest.raises(OperationalError):
        celery_app.send_task("single_window.relay_outbox", retry=False)

    assert time.monotonic() - started < 1.5


def test_health_says_degraded_not_down_while_redis_is_unreachable(redis_gone: str, api_client: APIClient) -> None:
    response = api_client.get(HEALTH)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "down"
    assert body["checks"]["cache"]["status"] == "down"


@pytest.fixture
def silent_redis(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A "Redis" that takes connections and never answers (a hung server, a black-holed
    network), as the cache, configured as every environment configures it."""
    monkeypatch.setattr(throttling, "LOCAL_WINDOWS", throttling.LocalFixedWindow())
    monkeypatch.setattr(throttling, "OUTAGE_LOG", throttling.CacheOutageLog())
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)  # the kernel completes the handshakes; nobody ever reads
        url = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
        settings.CACHES = {"default": redis_cache(url)}
        yield url


def test_a_cache_that_never_answers_costs_a_request_a_moment_not_forever(silent_redis: str, send: Send) -> None:
    started = time.monotonic()
    response = send("order")

    assert response.status_code == 201, response.content
    assert time.monotonic() - started < 3
    assert Order.objects.count() == 1
