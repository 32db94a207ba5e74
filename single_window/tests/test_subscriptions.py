"""Subscriptions: a system of the product is handed the events of the types it follows, in id
order and once each, from a cursor kept in the database.

The register is replaced by a fresh one in each test (``own_subscribers``), so the systems'
own subscribers (credit's) do not run here and the process's register is left as it was.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from config.celery import BEAT_SCHEDULE, app
from core.models import AuditEntry
from single_window import event_types, subscriptions, tasks
from single_window.events import event_publish
from single_window.models import Enterprise, Event, SubscriptionCursor
from tests.factories import EnterpriseFactory

TYPE_A, TYPE_B, TYPE_OTHER = "test.subscribed_a", "test.subscribed_b", "test.not_followed"


@pytest.fixture(autouse=True)
def own_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subscriptions, "_SUBSCRIBERS", {})
    monkeypatch.setattr(event_types, "_TYPES", dict(event_types._TYPES))
    for name in (TYPE_A, TYPE_B, TYPE_OTHER):
        event_types.register_event_type(name, name)


@pytest.fixture(autouse=True)
def no_gap_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run leaves a gap in flight to the next run at once (the tests run the next one)."""
    monkeypatch.setattr(subscriptions, "GAP_POLL_SECONDS", 0.0)


class Recorder:
    """A subscriber's handler that remembers what it was handed and can be made to fail."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.fail_on: set[int] = set()
        self.crash_on: set[int] = set()

    def __call__(self, event: Event) -> None:
        if event.pk in self.crash_on:
            raise Crash
        # A write of the handler's own: rolled back with it when it fails.
        AuditEntry.objects.create(actor="test", action="create", object_type="event", object_id=str(event.pk))
        if event.pk in self.fail_on:
            msg = f"cannot handle {event.pk}"
            raise ValueError(msg)
        self.seen.append(event.pk)


class Crash(BaseException):
    """Stands for the process dying half-way (a time limit, a lost worker)."""


@pytest.fixture
def recorder() -> Recorder:
    handler = Recorder()
    subscriptions.register_subscriber("test", [TYPE_A, TYPE_B, "test.nobody_registers_this"], handler)
    return handler


def publish(enterprise: Enterprise, type_: str, n: int = 0) -> Event:
    with transaction.atomic():
        return event_publish(enterprise=enterprise, type=type_, payload={"n": n}, subject=f"thing:{n}")


def cursor() -> SubscriptionCursor:
    return SubscriptionCursor.objects.get(name="test")


def handled_writes() -> list[str]:
    return sorted(AuditEntry.objects.filter(actor="test").values_list("object_id", flat=True))


@pytest.mark.django_db
def test_each_event_of_the_followed_types_is_handed_over_once_in_id_order(recorder: Recorder) -> None:
    first, second = EnterpriseFactory.create(), EnterpriseFactory.create()
    events = [
        publish(first, TYPE_A, 1),
        publish(second, TYPE_OTHER, 2),
        publish(second, TYPE_B, 3),
        publish(first, TYPE_A, 4),
    ]

    result = subscriptions.subscriptions_run()["test"]
    again = subscriptions.subscriptions_run()["test"]

    assert recorder.seen == [events[0].pk, events[2].pk, events[3].pk]
    assert (result.handled, again.handled) == (3, 0)
    # The cursor passed the event of a type it does not follow too.
    assert cursor().last_event_id == events[3].pk == result.position
    assert handled_writes() == sorted(str(e.pk) for e in (events[0], events[2], events[3]))


@pytest.mark.django_db
def test_events_the_subscriber_does_not_accept_are_passed_over() -> None:
    handler = Recorder()
    subscriptions.register_subscriber("test", [TYPE_A], handler, accepts=lambda event: event.payload["n"] % 2 == 0)
    enterprise = EnterpriseFactory.create()
    events = [publish(enterprise, TYPE_A, n) for n in range(1, 5)]

    result = subscriptions.subscriptions_run()["test"]

    assert handler.seen == [events[1].pk, events[3].pk]
    assert result.handled == 2
    assert cursor().last_event_id == events[-1].pk
    assert len(handled_writes()) == 2


@pytest.mark.django_db
def test_a_later_run_starts_where_the_cursor_was_left(recorder: Recorder) -> None:
    enterprise = EnterpriseFactory.create()
    earlier = [publish(enterprise, TYPE_A, n) for n in range(3)]
    subscriptions.subscriptions_run()

    later = [publish(enterprise, TYPE_B, n) for n in range(3, 5)]
    subscriptions.subscriptions_run(batch_size=1)

    assert recorder.seen == [e.pk for e in earlier + later]
    assert cursor().last_event_id == later[-1].pk


@pytest.mark.django_db
def test_a_handler_that_raises_is_rolled_back_and_its_event_tried_again_by_the_next_run(recorder: Recorder) -> None:
    enterprise = EnterpriseFactory.create()
    events = [publish(enterprise, TYPE_A, n) for n in range(3)]
    recorder.fail_on = {events[1].pk}

    failed = subscriptions.subscriptions_run()["test"]
    failed_again = subscriptions.subscriptions_run()["test"]

    assert failed.failed
    assert failed_again.failed
    assert recorder.seen == [events[0].pk]  # the next one waits: order is kept
    stuck = cursor()
    assert stuck.last_event_id == events[0].pk
    assert (stuck.failing_event_id, stuck.failures) == (events[1].pk, 2)
    assert stuck.last_error == f"ValueError: cannot handle {events[1].pk}"
    assert handled_writes() == [str(events[0].pk)]  # the failed handler's write is gone

    recorder.fail_on = set()
    recovered = subscriptions.subscriptions_run()["test"]

    assert not recovered.failed
    assert recorder.seen == [e.pk for e in events]
    assert (cursor().last_event_id, cursor().failures, cursor().failing_event_id) == (events[2].pk, 0, None)


@pytest.mark.django_db
def test_a_run_that_dies_half_way_moves_nothing_and_loses_nothing(recorder: Recorder) -> None:
    enterprise = EnterpriseFactory.create()
    events = [publish(enterprise, TYPE_A, n) for n in range(3)]
    recorder.crash_on = {events[2].pk}

    with pytest.raises(Crash):
        subscriptions.subscriptions_run()

    assert cursor().last_event_id == 0
    assert handled_writes() == []  # the batch's work went with it
    recorder.crash_on, recorder.seen = set(), []

    subscriptions.subscriptions_run()

    assert recorder.seen == [e.pk for e in events]
    assert handled_writes() == sorted(str(e.pk) for e in events)


@pytest.mark.django_db(transaction=True)
def test_a_cursor_held_by_another_run_is_left_to_it(recorder: Recorder) -> None:
    enterprise = EnterpriseFactory.create()
    publish(enterprise, TYPE_A)
    subscriptions.subscriptions_run()
    publish(enterprise, TYPE_A)
    outcome: dict[str, Any] = {}

    def other_run() -> None:
        try:
            outcome["batch"] = subscriptions.subscription_batch(
                subscriber=subscriptions.registered_subscribers()[0], limit=10
            )
        finally:
            connection.close()

    with transaction.atomic():
        SubscriptionCursor.objects.select_for_update().get(name="test")  # this test holds it
        thread = threading.Thread(target=other_run)
        thread.start()
        thread.join(timeout=30)

    assert outcome["batch"].busy
    assert outcome["batch"].handled == 0


def test_a_subscriber_is_registered_once() -> None:
    subscriptions.register_subscriber("twice", [TYPE_A], Recorder())

    with pytest.raises(ImproperlyConfigured, match="already registered"):
        subscriptions.register_subscriber("twice", [TYPE_B], Recorder())
    with pytest.raises(ImproperlyConfigured):
        subscriptions.register_subscriber("no-types", [], Recorder())


def test_the_subscriptions_run_every_few_seconds_from_the_one_schedule() -> None:
    entry = BEAT_SCHEDULE["run-event-subscriptions"]

    assert entry["task"] == "single_window.run_event_subscriptions"
    assert entry["schedule"] <= 10
    assert "single_window.run_event_subscriptions" in app.tasks


# --- Ids given before their transactions commit ------------------------------------------------------


class OpenTransaction:
    """Publishes an event in a transaction of another connection and keeps it open until told
    to commit or roll back: its id is taken, its row not yet visible."""

    def __init__(self, enterprise: Enterprise) -> None:
        self.enterprise = enterprise
        self.published = threading.Event()
        self.finish = threading.Event()
        self.commit = True
        self.event_id: int | None = None
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            with transaction.atomic():
                event = event_publish(enterprise=self.enterprise, type=TYPE_A, payload={"n": "open"})
                self.event_id = event.pk
                self.published.set()
                self.finish.wait(timeout=30)
                if not self.commit:
                    transaction.set_rollback(True)
        finally:
            self.published.set()
            connection.close()

    def __enter__(self) -> OpenTransaction:
        self.thread.start()
        assert self.published.wait(timeout=30)
        return self

    def end(self, *, commit: bool) -> None:
        self.commit = commit
        self.finish.set()
        self.thread.join(timeout=30)

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.end(commit=False)


@pytest.fixture
def caught_up(recorder: Recorder) -> Enterprise:
    """An enterprise with one event, handed over: the cursor stands on the newest id."""
    enterprise = EnterpriseFactory.create()
    first = publish(enterprise, TYPE_A, 1)
    subscriptions.subscriptions_run()
    assert recorder.seen == [first.pk]
    recorder.seen = []
    return enterprise


@pytest.mark.django_db(transaction=True)
def test_the_cursor_waits_at_an_event_whose_transaction_is_still_open_then_takes_it_in_order(
    recorder: Recorder, caught_up: Enterprise
) -> None:
    # Another enterprise publishes meanwhile: the open transaction holds its own counter.
    other = EnterpriseFactory.create()
    with OpenTransaction(caught_up) as open_transaction:
        later = publish(other, TYPE_A, 2)  # committed, with the higher id
        assert open_transaction.event_id is not None
        assert open_transaction.event_id < later.pk

        waiting = subscriptions.subscriptions_run()["test"]

        assert waiting.waiting
        assert recorder.seen == []
        assert cursor().gap_at == open_transaction.event_id
        assert len(cursor().gap_waiting_on) == 1

        open_transaction.end(commit=True)

    subscriptions.subscriptions_run()

    assert recorder.seen == [open_transaction.event_id, later.pk]
    assert cursor().gap_at is None


@pytest.mark.django_db(transaction=True)
def test_an_event_rolled_back_leaves_a_gap_the_cursor_passes_once_its_transaction_ended(
    recorder: Recorder, caught_up: Enterprise
) -> None:
    other = EnterpriseFactory.create()
    with OpenTransaction(caught_up) as open_transaction:
        later = publish(other, TYPE_A, 2)
        assert subscriptions.subscriptions_run()["test"].waiting

        open_transaction.end(commit=False)

    subscriptions.subscriptions_run()

    assert recorder.seen == [later.pk]
    assert open_transaction.event_id is not None
    assert not Event.objects.filter(pk=open_transaction.event_id).exists()
    assert cursor().last_event_id == later.pk


@pytest.mark.django_db(transaction=True)
def test_the_task_beat_runs_hands_the_events_over(recorder: Recorder) -> None:
    enterprise = EnterpriseFactory.create()
    published = [publish(enterprise, TYPE_B, n) for n in range(2)]

    assert tasks.run_event_subscriptions() == 2
    assert recorder.seen == [e.pk for e in published]
