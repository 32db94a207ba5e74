"""The event feed: one sequence per enterprise with no gaps, in commit order, paged by after=."""

from __future__ import annotations

import datetime
import threading
import time
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from rest_framework.test import APIClient

from core import errors
from declarations.event_types import DOCUMENT_ACCEPTED, INVENTORY_STATUS_CHANGED
from single_window.events import envelope, event_publish
from single_window.models import Enterprise, Event
from tests.factories import EnterpriseFactory, Persona, assert_problem

FEED = "/api/v1/events"


def publish(enterprise: Enterprise, n: int, type_: str = INVENTORY_STATUS_CHANGED) -> Event:
    with transaction.atomic():
        return event_publish(enterprise=enterprise, type=type_, payload={"n": n}, subject=f"inventory:{n}")


@transaction.atomic
def publish_then_fail(enterprise: Enterprise, n: int) -> None:
    publish(enterprise, n)
    raise RuntimeError("the change failed after its event")


def sequences(enterprise: Enterprise) -> list[int]:
    return list(Event.objects.filter(enterprise=enterprise).order_by("sequence").values_list("sequence", flat=True))


@pytest.mark.django_db
def test_sequences_count_from_one_per_enterprise_and_a_rolled_back_event_leaves_no_gap() -> None:
    first, second = EnterpriseFactory.create(), EnterpriseFactory.create()

    publish(first, 1)
    with pytest.raises(RuntimeError):
        publish_then_fail(first, 2)
    publish(first, 3)
    publish(second, 1)

    assert sequences(first) == [1, 2]
    assert [e.payload["n"] for e in Event.objects.filter(enterprise=first).order_by("sequence")] == [1, 3]
    assert sequences(second) == [1]


@pytest.mark.django_db(transaction=True)
def test_event_publish_refuses_to_run_outside_a_transaction() -> None:
    enterprise = EnterpriseFactory.create()

    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_publish(enterprise=enterprise, type=DOCUMENT_ACCEPTED, payload={})


@pytest.mark.django_db(transaction=True)
def test_parallel_publishers_never_duplicate_or_skip_and_readers_never_see_a_gap() -> None:
    enterprise = EnterpriseFactory.create()
    per_thread, writers = 15, 3
    barrier = threading.Barrier(writers + 1)
    done = threading.Event()
    failures: list[Exception] = []
    seen_gaps: list[list[int]] = []

    def write(offset: int) -> None:
        try:
            barrier.wait(timeout=10)
            for n in range(per_thread):
                with transaction.atomic():
                    event_publish(enterprise=enterprise, type=INVENTORY_STATUS_CHANGED, payload={"n": n})
                    time.sleep(0.002)  # hold the transaction open: commit order is what is tested
        except Exception as exc:  # noqa: BLE001 - reported to the test thread, which asserts none
            failures.append(exc)
        finally:
            connection.close()

    def read() -> None:
        try:
            barrier.wait(timeout=10)
            while not done.is_set():
                seen = sequences(enterprise)
                if seen != list(range(1, len(seen) + 1)):
                    seen_gaps.append(seen)
        except Exception as exc:  # noqa: BLE001 - reported to the test thread, which asserts none
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    reader = threading.Thread(target=read)
    for thread in [*threads, reader]:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    done.set()
    reader.join(timeout=10)

    assert failures == []
    assert seen_gaps == []
    assert sequences(enterprise) == list(range(1, per_thread * writers + 1))


# --- The API -------------------------------------------------------------------------------


def feed(client: APIClient, **params: Any) -> dict[str, Any]:
    response = client.get(FEED, params)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.django_db
def test_the_feed_pages_with_after_and_next_after(owner: Persona, owner_client: APIClient) -> None:
    for n in range(5):
        publish(owner.enterprise, n)

    page = feed(owner_client, after=0, limit=2)
    assert [e["sequence"] for e in page["events"]] == [1, 2]
    assert page["next_after"] == 2
    page = feed(owner_client, after=page["next_after"], limit=2)
    assert [e["sequence"] for e in page["events"]] == [3, 4]
    page = feed(owner_client, after=page["next_after"])
    assert [e["sequence"] for e in page["events"]] == [5]
    page = feed(owner_client, after=page["next_after"])
    assert page == {"events": [], "next_after": 5}

    event = feed(owner_client)["events"][0]
    assert event["type"] == "inventory.status_changed"
    assert event["subject"] == "inventory:0"
    assert event["data"] == {"n": 0}
    assert {"id", "sequence", "type", "subject", "timestamp", "data"} == event.keys()


@pytest.mark.django_db
def test_the_feed_gives_event_times_in_china_standard_time(owner: Persona, owner_client: APIClient) -> None:
    # 02:02:11.12 UTC is 10:02:11.12 in Beijing; the feed must say so, not +00:00.
    with time_machine.travel(datetime.datetime(2026, 11, 25, 2, 2, 11, 120000, tzinfo=datetime.UTC), tick=False):
        publish(owner.enterprise, 1)

    (event,) = feed(owner_client)["events"]

    assert event["timestamp"] == "2026-11-25T10:02:11.120000+08:00"


@pytest.mark.django_db
def test_times_inside_a_payload_are_china_standard_time_in_the_feed_and_the_webhook(
    owner: Persona, owner_client: APIClient
) -> None:
    # A datetime from the database or timezone.now() is in UTC; the payload must still say +08:00.
    at = datetime.datetime(2026, 11, 25, 2, 2, 11, 120000, tzinfo=datetime.UTC)
    with transaction.atomic():
        event_publish(
            enterprise=owner.enterprise,
            type=INVENTORY_STATUS_CHANGED,
            payload={"at": at, "day": at.date(), "nested": [{"at": at.replace(microsecond=0)}]},
        )

    (event,) = feed(owner_client)["events"]

    expected = {
        "at": "2026-11-25T10:02:11.120000+08:00",
        "day": "2026-11-25",
        "nested": [{"at": "2026-11-25T10:02:11+08:00"}],
    }
    assert event["data"] == expected
    assert Event.objects.get(enterprise=owner.enterprise).payload == expected
    assert envelope(Event.objects.get(enterprise=owner.enterprise))["data"] == expected


@pytest.mark.django_db
def test_the_feed_refuses_a_limit_above_1000(owner_client: APIClient) -> None:
    assert_problem(owner_client.get(FEED, {"limit": 1001}), 400, errors.VALIDATION_FAILED)
    assert_problem(owner_client.get(FEED, {"after": -1}), 400, errors.VALIDATION_FAILED)
    assert owner_client.get(FEED, {"limit": 1000}).status_code == 200


@pytest.mark.django_db
def test_an_outsider_sees_only_its_own_events(
    owner: Persona, outsider: Persona, outsider_client: APIClient, api_client: APIClient
) -> None:
    publish(owner.enterprise, 1)
    publish(outsider.enterprise, 7)

    page = feed(outsider_client)

    assert [(e["sequence"], e["data"]) for e in page["events"]] == [(1, {"n": 7})]
    assert_problem(api_client.get(FEED), 401, errors.NOT_AUTHENTICATED)
