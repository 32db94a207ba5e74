"""The outbox: written with the change, relayed at least once, retried on schedule, in order
per ordering key, dead after the last attempt; two relays never send one claim twice."""

from __future__ import annotations

import datetime
import json
import threading
from typing import Any

import httpx
import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.celery import BEAT_SCHEDULE, app
from config.celery import app as celery_app
from core.audit import Actor
from core.errors import Conflict
from core.models import AuditEntry
from single_window import outbox, tasks
from single_window.models import OutboxAttempt, OutboxDestination, OutboxMessage, OutboxState
from tests.fake_receiver import FakeReceiver

ACTOR = Actor.system("tests")
PASSWORD = "a-long-test-password"


def _post_to_destination(message: OutboxMessage, body: bytes) -> outbox.DeliveryResult:
    """A sender for the partner kind of these tests: POST the body to the destination URL."""
    response = httpx.post(message.destination, content=body, headers={"x-message": str(message.pk)}, timeout=5)
    return outbox.DeliveryResult(
        ok=response.is_success, status_code=response.status_code, response_excerpt=response.text
    )


@pytest.fixture
def partner_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    # Registering the kind again is refused at start-up; a test swaps the sender in place.
    monkeypatch.setitem(
        outbox._SENDERS, OutboxDestination.PARTNER, outbox._Registration(sender=_post_to_destination, on_dead=None)
    )


def enqueue(receiver: FakeReceiver, *, key: str = "inventory:81", n: int = 1) -> OutboxMessage:
    with transaction.atomic():
        return outbox.outbox_enqueue(
            destination_kind=OutboxDestination.PARTNER,
            destination=receiver.url,
            ordering_key=key,
            message_type="test.message",
            payload={"n": n},
        )


def received_numbers(receiver: FakeReceiver) -> list[int]:
    return [json.loads(r.body)["n"] for r in receiver.requests]


def fresh(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=message.pk)


pytestmark = pytest.mark.usefixtures("partner_sender")


# --- Writing -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_message_enqueued_in_a_transaction_that_rolls_back_is_never_sent(webhook_receiver: FakeReceiver) -> None:
    @transaction.atomic
    def change_that_fails() -> None:
        enqueue(webhook_receiver)
        raise RuntimeError("the change failed after enqueueing")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert outbox.outbox_relay_batch() == 0
    assert OutboxMessage.objects.count() == 0
    assert webhook_receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_enqueueing_outside_a_transaction_is_refused(webhook_receiver: FakeReceiver) -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        outbox.outbox_enqueue(
            destination_kind=OutboxDestination.PARTNER,
            destination=webhook_receiver.url,
            ordering_key="k",
            message_type="test.message",
            payload={},
        )
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_message_waits_in_the_database_for_the_periodic_relay(
    webhook_receiver: FakeReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broker_down(*args: object, **kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", broker_down)

    message = enqueue(webhook_receiver)  # commits; the kick fails and is logged

    assert fresh(message).state == OutboxState.PENDING
    assert tasks.relay_outbox() == 1  # what beat runs
    assert fresh(message).state == OutboxState.SENT


@pytest.mark.django_db
def test_the_payload_is_encrypted_at_rest(webhook_receiver: FakeReceiver) -> None:
    message = enqueue(webhook_receiver, n=4242)

    assert "4242" not in message.payload_encrypted
    assert json.loads(outbox.message_body(message)) == {"n": 4242}


def test_the_relay_runs_every_few_seconds_from_the_one_schedule() -> None:
    entry = BEAT_SCHEDULE["relay-outbox"]

    assert entry["task"] == "single_window.relay_outbox"
    assert entry["schedule"] <= 10
    assert "single_window.relay_outbox" in app.tasks


# --- Delivery and retries ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_delivered_message_is_sent_once_and_its_attempt_recorded(webhook_receiver: FakeReceiver) -> None:
    message = enqueue(webhook_receiver, n=1)

    assert outbox.outbox_relay_batch() == 1
    assert outbox.outbox_relay_batch() == 0

    assert received_numbers(webhook_receiver) == [1]
    message = fresh(message)
    assert (message.state, message.attempts, message.lease_until) == (OutboxState.SENT, 1, None)
    assert message.sent_at is not None
    (attempt,) = OutboxAttempt.objects.filter(message=message)
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")
    assert attempt.response_excerpt == '{"received": true}'
    assert attempt.latency_ms >= 0


@pytest.mark.django_db
def test_a_failure_schedules_the_next_attempt_by_the_schedule_with_jitter(webhook_receiver: FakeReceiver) -> None:
    webhook_receiver.answer(500, 503)
    webhook_receiver.response_body = b"down for maintenance"
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        message = enqueue(webhook_receiver)
        outbox.outbox_relay_batch()

    message = fresh(message)
    assert (message.state, message.attempts, message.last_error) == (OutboxState.PENDING, 1, "HTTP 500")
    assert start + datetime.timedelta(seconds=30) <= message.next_attempt_at <= start + datetime.timedelta(seconds=36)
    attempt = OutboxAttempt.objects.get(message=message)
    assert (attempt.status_code, attempt.response_excerpt) == (500, "down for maintenance")

    with time_machine.travel(start + datetime.timedelta(seconds=29), tick=False):
        assert outbox.outbox_relay_batch() == 0  # not due yet
    later = start + datetime.timedelta(seconds=37)
    with time_machine.travel(later, tick=False):
        assert outbox.outbox_relay_batch() == 1
    message = fresh(message)
    assert message.attempts == 2
    assert later + datetime.timedelta(minutes=1) <= message.next_attempt_at <= later + datetime.timedelta(seconds=72)
    assert [a.status_code for a in OutboxAttempt.objects.filter(message=message)] == [500, 503]


def test_the_retry_schedule_runs_from_30_seconds_to_24_hours_then_gives_up() -> None:
    delays = [outbox.retry_delay(failed_attempts=n) for n in range(1, outbox.MAX_ATTEMPTS + 1)]

    assert delays[-1] is None
    for delay, base in zip(delays[:-1], outbox.RETRY_SCHEDULE, strict=True):
        assert delay is not None
        assert base <= delay <= base * 1.2
    assert outbox.RETRY_SCHEDULE[0] == datetime.timedelta(seconds=30)
    assert outbox.RETRY_SCHEDULE[-1] == datetime.timedelta(hours=24)


def fail_until_dead(receiver: FakeReceiver, message: OutboxMessage) -> datetime.datetime:
    """Answer 500 to every attempt, travelling to each due time; returns the final clock."""
    receiver.answer(*[500] * outbox.MAX_ATTEMPTS)
    now = timezone.now()
    for _attempt in range(outbox.MAX_ATTEMPTS):
        with time_machine.travel(now, tick=False):
            assert outbox.outbox_relay_batch() >= 1
        message = fresh(message)
        now = message.next_attempt_at + datetime.timedelta(seconds=1)
    return now


@pytest.mark.django_db
def test_the_message_is_dead_after_the_last_attempt(webhook_receiver: FakeReceiver) -> None:
    message = enqueue(webhook_receiver)

    now = fail_until_dead(webhook_receiver, message)

    message = fresh(message)
    assert (message.state, message.attempts, message.last_error) == (OutboxState.DEAD, outbox.MAX_ATTEMPTS, "HTTP 500")
    assert OutboxAttempt.objects.filter(message=message).count() == outbox.MAX_ATTEMPTS == 13
    with time_machine.travel(now + datetime.timedelta(days=30), tick=False):
        assert outbox.outbox_relay_batch() == 0


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, str]]:
    """The partner kind with a sender that says a 400 is a refusal, and handlers that note what
    became of each message: ("sent" | "dead" | "refused", message id, state seen)."""
    seen: list[tuple[str, int, str]] = []

    def send(message: OutboxMessage, body: bytes) -> outbox.DeliveryResult:
        result = _post_to_destination(message, body)
        return outbox.DeliveryResult(ok=result.ok, status_code=result.status_code, refused=result.status_code == 400)

    def noting(what: str) -> outbox.DeadHandler:
        return lambda message: seen.append((what, message.pk, message.state))

    monkeypatch.setitem(
        outbox._SENDERS,
        OutboxDestination.PARTNER,
        outbox._Registration(sender=send, on_dead=noting("dead"), on_refused=noting("refused"), on_sent=noting("sent")),
    )
    return seen


@pytest.mark.django_db
def test_a_refused_message_is_dead_at_once_and_its_refusal_handler_runs(
    webhook_receiver: FakeReceiver, outcomes: list[tuple[str, int, str]]
) -> None:
    refused = enqueue(webhook_receiver, key="a", n=1)
    delivered = enqueue(webhook_receiver, key="b", n=2)
    webhook_receiver.answer(400)

    assert outbox.outbox_relay_batch() == 2

    assert (fresh(refused).state, fresh(refused).attempts) == (OutboxState.DEAD, 1)
    assert fresh(delivered).state == OutboxState.SENT
    assert outcomes == [("refused", refused.pk, OutboxState.DEAD), ("sent", delivered.pk, OutboxState.SENT)]


@pytest.mark.django_db
def test_a_failing_sent_handler_leaves_the_message_sent(
    webhook_receiver: FakeReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(message: OutboxMessage) -> None:
        OutboxMessage.objects.filter(pk=message.pk).update(last_error="written, then rolled back")
        raise RuntimeError("the handler failed")

    monkeypatch.setitem(
        outbox._SENDERS,
        OutboxDestination.PARTNER,
        outbox._Registration(sender=_post_to_destination, on_dead=None, on_sent=broken),
    )
    message = enqueue(webhook_receiver)

    assert outbox.outbox_relay_batch() == 1

    assert (fresh(message).state, fresh(message).last_error) == (OutboxState.SENT, "")


@pytest.mark.django_db
def test_a_dead_message_is_redelivered_with_a_fresh_schedule_and_audited(webhook_receiver: FakeReceiver) -> None:
    message = enqueue(webhook_receiver)
    now = fail_until_dead(webhook_receiver, message)

    with time_machine.travel(now, tick=False):
        outbox.outbox_redeliver(message=fresh(message), actor=ACTOR)
        assert (fresh(message).state, fresh(message).attempts) == (OutboxState.PENDING, 0)
        assert outbox.outbox_relay_batch() == 1

    message = fresh(message)
    assert (message.state, message.attempts) == (OutboxState.SENT, 1)
    assert len(webhook_receiver.requests) == outbox.MAX_ATTEMPTS + 1
    assert AuditEntry.objects.filter(object_type="single_window.outboxmessage", reason="redeliver").count() == 1
    with pytest.raises(Conflict):
        outbox.outbox_discard(message=message, actor=ACTOR)  # sent: nothing to discard


@pytest.mark.django_db
def test_a_message_waiting_to_be_sent_is_not_redelivered(webhook_receiver: FakeReceiver) -> None:
    message = enqueue(webhook_receiver)

    with pytest.raises(Conflict) as raised:
        outbox.outbox_redeliver(message=message, actor=ACTOR)

    assert raised.value.code == outbox.MESSAGE_NOT_REDELIVERABLE
    assert fresh(message).state == OutboxState.PENDING


# --- Ordering ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_later_message_of_the_same_key_waits_while_the_first_is_retrying(webhook_receiver: FakeReceiver) -> None:
    webhook_receiver.answer(500)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = enqueue(webhook_receiver, key="inventory:81", n=1)
        second = enqueue(webhook_receiver, key="inventory:81", n=2)
        other = enqueue(webhook_receiver, key="inventory:82", n=3)
        assert outbox.outbox_relay_batch() == 2  # the first (fails) and the other key's

    assert sorted(received_numbers(webhook_receiver)) == [1, 3]
    assert fresh(second).state == OutboxState.PENDING
    assert fresh(second).attempts == 0
    assert fresh(other).state == OutboxState.SENT

    with time_machine.travel(start + datetime.timedelta(seconds=40), tick=False):
        assert outbox.outbox_relay_batch() == 1  # the first; the second still waited for it
        assert outbox.outbox_relay_batch() == 1  # now the second

    assert received_numbers(webhook_receiver)[-2:] == [1, 2]
    assert fresh(first).state == fresh(second).state == OutboxState.SENT


@pytest.mark.django_db
def test_a_dead_message_holds_back_its_key_until_it_is_discarded(webhook_receiver: FakeReceiver) -> None:
    first = enqueue(webhook_receiver, key="inventory:81", n=1)
    second = enqueue(webhook_receiver, key="inventory:81", n=2)
    now = fail_until_dead(webhook_receiver, first)

    with time_machine.travel(now, tick=False):
        assert outbox.outbox_relay_batch() == 0
        assert fresh(second).state == OutboxState.PENDING
        outbox.outbox_discard(message=fresh(first), actor=ACTOR)
        assert outbox.outbox_relay_batch() == 1

    assert fresh(first).state == OutboxState.DISCARDED
    assert fresh(second).state == OutboxState.SENT
    assert received_numbers(webhook_receiver)[-1] == 2


# --- Claims and leases ---------------------------------------------------------------------


@pytest.mark.django_db
def test_an_abandoned_sending_row_is_claimed_again_once_its_lease_runs_out(webhook_receiver: FakeReceiver) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        message = enqueue(webhook_receiver)
        # A worker claims the row and dies before sending.
        assert len(outbox._claim(limit=10, now=start)) == 1
        assert fresh(message).state == OutboxState.SENDING
        assert outbox.outbox_relay_batch() == 0

    with time_machine.travel(start + outbox.LEASE + datetime.timedelta(seconds=1), tick=False):
        assert outbox.outbox_relay_batch() == 1

    message = fresh(message)
    assert (message.state, message.attempts) == (OutboxState.SENT, 2)
    assert len(webhook_receiver.requests) == 1


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_does_not_overwrite_the_new_claim(webhook_receiver: FakeReceiver) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        message = enqueue(webhook_receiver)
        (stale,) = outbox._claim(limit=10, now=start)
    later = start + outbox.LEASE + datetime.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        (current,) = outbox._claim(limit=10, now=later)
        outbox._deliver(stale)  # the slow worker wakes up: its claim is gone, it sends nothing

    assert webhook_receiver.requests == []
    assert (fresh(message).state, fresh(message).attempts) == (OutboxState.SENDING, current.attempt)


@pytest.mark.django_db
def test_a_message_read_with_its_batch_is_read_again_once_the_lease_ran_out(webhook_receiver: FakeReceiver) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        message = enqueue(webhook_receiver)
        (stale,) = outbox._claim(limit=10, now=start)
        as_read = fresh(message)
    later = start + outbox.LEASE + datetime.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        (current,) = outbox._claim(limit=10, now=later)
        outbox._deliver(stale, loaded=as_read, sent=[])

    assert webhook_receiver.requests == []
    assert (fresh(message).state, fresh(message).attempts) == (OutboxState.SENDING, current.attempt)


@pytest.mark.django_db
def test_a_batch_of_deliveries_is_recorded_together(
    webhook_receiver: FakeReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "RECORD_SENT_WITHIN", 60.0)  # however slow the receiver is here
    messages = [enqueue(webhook_receiver, key=f"inventory:{n}", n=n) for n in range(25)]

    with CaptureQueriesContext(connection) as captured:
        assert outbox.outbox_relay_batch(limit=50) == 25

    assert sorted(received_numbers(webhook_receiver)) == list(range(25))
    assert [fresh(m).state for m in messages] == [OutboxState.SENT] * 25
    assert OutboxAttempt.objects.filter(message__in=messages, number=1, status_code=200).count() == 25
    # The claim, one read of the batch, then an insert and an update per ten deliveries.
    assert len(captured) < 25


@pytest.mark.django_db
def test_a_delivery_is_not_kept_unrecorded_longer_than_the_bound(
    webhook_receiver: FakeReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "RECORD_SENT_WITHIN", 0.0)
    messages = [enqueue(webhook_receiver, key=f"inventory:{n}", n=n) for n in range(3)]
    recorded: list[int] = []
    real = outbox._record_sent

    def record(sent: list[Any]) -> None:
        recorded.append(len(sent))
        real(sent)

    monkeypatch.setattr(outbox, "_record_sent", record)

    outbox.outbox_relay_batch(limit=10)

    # Each one as soon as it was taken (the last call of the run has nothing left).
    assert recorded[:3] == [1, 1, 1]
    assert [fresh(m).state for m in messages] == [OutboxState.SENT] * 3


@pytest.mark.django_db(transaction=True)
def test_two_relays_in_parallel_never_send_a_message_twice(webhook_receiver: FakeReceiver) -> None:
    messages = [enqueue(webhook_receiver, key=f"inventory:{n}", n=n) for n in range(30)]
    webhook_receiver.delay = 0.01
    barrier = threading.Barrier(2)
    claimed: list[int] = []
    failures: list[Exception] = []

    def relay() -> None:
        try:
            barrier.wait(timeout=10)
            while count := outbox.outbox_relay_batch(limit=5):
                claimed.append(count)
        except Exception as exc:  # noqa: BLE001 - reported to the test thread, which asserts none
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sum(claimed) == 30
    assert sorted(received_numbers(webhook_receiver)) == list(range(30))
    assert OutboxMessage.objects.filter(state=OutboxState.SENT, attempts=1).count() == len(messages)


# --- The admin -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_lists_dead_messages_and_redelivers_and_discards_them(
    client: Client, webhook_receiver: FakeReceiver
) -> None:
    User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    assert client.login(username="root", password=PASSWORD)
    dead = enqueue(webhook_receiver, key="a")
    other = enqueue(webhook_receiver, key="b")
    OutboxMessage.objects.filter(pk__in=[dead.pk, other.pk]).update(state=OutboxState.DEAD, last_error="HTTP 500")

    listing = client.get("/admin/single_window/outboxmessage/?state__exact=dead")
    assert listing.status_code == 200
    assert f"#{dead.pk}".encode() in listing.content or str(dead.pk).encode() in listing.content
    assert client.get(f"/admin/single_window/outboxmessage/{dead.pk}/change/").status_code == 200

    changelist = "/admin/single_window/outboxmessage/"
    response = client.post(changelist, {"action": "redeliver", "_selected_action": [dead.pk]})
    assert response.status_code == 302
    response = client.post(changelist, {"action": "discard", "_selected_action": [other.pk]})
    assert response.status_code == 302

    assert fresh(dead).state == OutboxState.PENDING
    assert fresh(other).state == OutboxState.DISCARDED
    reasons = set(
        AuditEntry.objects.filter(object_type="single_window.outboxmessage", actor="admin:root").values_list(
            "reason", flat=True
        )
    )
    assert reasons == {"redeliver", "discard"}


def test_the_response_excerpt_is_truncated_and_keeps_no_secrets_or_id_numbers() -> None:
    text = "secret whsec_abc123== id 33010619900101001X phone 13812345678 " + "x" * 1000

    excerpt = outbox.response_excerpt(text)

    assert len(excerpt) <= outbox.EXCERPT_LENGTH
    assert "whsec_abc123" not in excerpt
    assert "33010619900101001X" not in excerpt
    assert "13812345678" not in excerpt
