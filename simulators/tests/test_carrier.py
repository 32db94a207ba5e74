"""The carrier simulator over real HTTP: POST /waybills, then the journey's signed events,
duplicated and reordered on request."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator

import httpx
import pytest

from simulators.carrier import JOURNEY, CarrierConfig, CarrierSimulator, parse_config, plan_journey
from simulators.common import now_cst
from simulators.tests.support import SECRET, Callback, Receiver, expected_signature

STATUSES = [status for status, _leg in JOURNEY]


@pytest.fixture
def carrier(receiver: Receiver) -> Iterator[Callable[..., CarrierSimulator]]:
    started: list[CarrierSimulator] = []

    def start(**settings: object) -> CarrierSimulator:
        config = CarrierConfig(port=0, callback_url=receiver.url, secret=SECRET, step_delay=0.02, callback_backoff=0.05)
        for name, value in settings.items():
            setattr(config, name, value)
        simulator = CarrierSimulator(config).start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


def carry(simulator: CarrierSimulator, **body: object) -> httpx.Response:
    return httpx.post(f"http://127.0.0.1:{simulator.port}/waybills", json=body)


def events_of(callbacks: list[Callback]) -> list[dict[str, object]]:
    return [json.loads(c.body)["events"][0] for c in callbacks]


def test_a_parcels_journey_is_sent_signed_in_order(
    carrier: Callable[..., CarrierSimulator], receiver: Receiver
) -> None:
    simulator = carrier()

    answer = carry(simulator, logistics_code="3301960004", logistics_no="SF1", mode="air")

    assert answer.status_code == 202
    assert answer.json() == {"logistics_no": "SF1", "status": "accepted", "events": 7}
    callbacks = receiver.wait_for(lambda cs: len(cs) >= 7)
    events = events_of(callbacks)
    assert [e["status"] for e in events] == STATUSES
    assert [(e["transport_mode"], e["leg"]) for e in events] == [("air", 1)] * 5 + [("road", 2)] * 2
    assert all(str(e["occurred_at"]).endswith("+08:00") for e in events)
    for callback in callbacks:
        headers = callback.headers
        assert headers["content-type"] == "application/json"
        assert headers["webhook-signature"] == expected_signature(
            SECRET, headers["webhook-id"], headers["webhook-timestamp"], callback.body
        )
    messages = httpx.get(f"http://127.0.0.1:{simulator.port}/messages").json()
    assert messages["received"][0]["logistics_no"] == "SF1"


def test_duplicates_repeat_the_same_event_under_a_new_webhook_id(
    carrier: Callable[..., CarrierSimulator], receiver: Receiver
) -> None:
    simulator = carrier(duplicate_rate=1.0)

    carry(simulator, logistics_code="3301960004", logistics_no="SF2")

    callbacks = receiver.wait_for(lambda cs: len(cs) >= 14)
    events = events_of(callbacks)
    assert len({json.dumps(e, sort_keys=True) for e in events}) == 7
    assert len({c.headers["webhook-id"] for c in callbacks}) == 14


def test_reordering_sends_an_event_after_the_next_one() -> None:
    sends = plan_journey(
        logistics_code="C",
        logistics_no="N",
        mode="sea",
        start=now_cst(),
        step_delay=1.0,
        duplicate_rate=0.0,
        reorder_rate=1.0,
        rng=random.Random(1),  # noqa: S311 - a simulation's choices
    )

    sent = [send.event["status"] for send in sends]
    assert sent != STATUSES
    assert sorted(sent) == sorted(STATUSES)
    # The times the events carry are the journey's, whatever the order they are sent in.
    occurred = {send.event["status"]: send.event["occurred_at"] for send in sends}
    assert [occurred[status] for status in STATUSES] == sorted(occurred.values())


def test_a_waybill_without_its_keys_or_with_an_unknown_mode_is_refused(
    carrier: Callable[..., CarrierSimulator],
) -> None:
    simulator = carrier()

    assert carry(simulator, logistics_no="SF3").status_code == 400
    assert carry(simulator, logistics_code="C", logistics_no="SF3", mode="teleport").status_code == 400
    assert httpx.get(f"http://127.0.0.1:{simulator.port}/health").json() == {"status": "ok", "service": "carrier"}


def test_options_come_from_the_command_line_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_CARRIER_REORDER_RATE", "0.25")

    config = parse_config(["--secret", SECRET, "--duplicate-rate", "0.1", "--step-delay", "2"])

    assert (config.duplicate_rate, config.reorder_rate, config.step_delay) == (0.1, 0.25, 2.0)
    with pytest.raises(SystemExit):
        parse_config(["--secret", SECRET, "--duplicate-rate", "2"])
