"""Delays: the usual time of a status learned from history (p90 of the time to the next event),
the default without enough history, the flag and its event, cleared by a new event."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.test import override_settings

from logistics import delays, event_types, tracking
from logistics.models import DelayNorm, EventSource, WaybillTrack
from logistics.tests.fakes import CARRIER, EBC, FakeHub, at, event
from single_window.models import Enterprise, Event

pytestmark = pytest.mark.django_db


def receive(*bodies: dict[str, object]) -> None:
    tracking.events_receive(carrier_code=CARRIER, bodies=list(bodies), source=EventSource.API)


def history(hub: FakeHub, hours_at_hub: list[int]) -> None:
    """Past waybills that each stayed ``hours`` at the hub (arrived_hub -> at_customs), by sea,
    leg 2, then were delivered an hour after reaching customs."""
    for index, hours in enumerate(hours_at_hub):
        number = f"OLD{index}"
        hub.hold(number)
        start = at(1, 8)
        receive(
            event(number, "arrived_hub", start, mode="sea", leg=2),
            event(number, "at_customs", start + datetime.timedelta(hours=hours), mode="sea", leg=2),
            event(number, "delivered", start + datetime.timedelta(hours=hours + 1), mode="road", leg=3),
        )


def test_the_usual_time_is_the_p90_of_the_time_to_the_next_event() -> None:
    assert delays.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert delays.percentile([5], 0.9) == 5
    assert delays.median([1, 3, 2, 10]) == 2.5


@override_settings(LOGISTICS_DELAY_MIN_SAMPLES=5)
def test_norms_are_learned_per_carrier_route_and_status(hub: FakeHub, carrier: Enterprise) -> None:
    history(hub, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])

    with time_machine.travel(at(20, 2), tick=False):
        assert delays.norms_recompute() == 2  # arrived_hub and at_customs on sea, leg 2

    norm = DelayNorm.objects.get(status="arrived_hub")
    assert (norm.logistics_code, norm.transport_mode, norm.leg, norm.status) == (CARRIER, "sea", 2, "arrived_hub")
    assert (norm.seconds, norm.samples) == (9 * 3600, 10)
    assert delays.usual_seconds(logistics_code=CARRIER, transport_mode="sea", leg=2, status="arrived_hub") == 9 * 3600
    # Another route of the same carrier has no history: the status's default.
    assert (
        delays.usual_seconds(logistics_code=CARRIER, transport_mode="air", leg=2, status="arrived_hub")
        == delays.DEFAULT_SECONDS["arrived_hub"]
    )


@override_settings(LOGISTICS_DELAY_HISTORY_DAYS=90)
def test_history_older_than_ninety_days_is_not_learned(hub: FakeHub, carrier: Enterprise) -> None:
    history(hub, [1, 2])

    with time_machine.travel(at(1, 8) + datetime.timedelta(days=91), tick=False):
        assert delays.norms_recompute() == 0


@override_settings(LOGISTICS_DELAY_MIN_SAMPLES=5)
def test_a_waybill_silent_longer_than_its_learned_norm_is_flagged_and_its_parties_told(
    hub: FakeHub, carrier: Enterprise, seller: Enterprise
) -> None:
    history(hub, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    with time_machine.travel(at(20, 2), tick=False):
        delays.norms_recompute()
    hub.hold("NOW")
    receive(event("NOW", "arrived_hub", at(21, 8), mode="sea", leg=2))

    with time_machine.travel(at(21, 16, 59), tick=False):
        assert delays.delays_sweep() == []
    with time_machine.travel(at(21, 17, 1), tick=False):
        flagged = delays.delays_sweep()
        assert delays.delays_sweep() == []  # flagged once

    assert [f.usual_seconds for f in flagged] == [9 * 3600]
    track = WaybillTrack.objects.get(logistics_no="NOW")
    assert (track.delayed, track.delayed_since, track.delays) == (True, at(21, 17, 1), 1)
    told = Event.objects.filter(type=event_types.WAYBILL_DELAYED)
    assert set(told.values_list("enterprise__customs_code", flat=True)) == {CARRIER, EBC}
    assert told.count() == 2
    assert told.first().payload["usual_seconds"] == 9 * 3600  # type: ignore[union-attr]


@override_settings(LOGISTICS_DELAY_MIN_SAMPLES=20)
def test_a_norm_with_too_few_samples_gives_way_to_the_default(hub: FakeHub, carrier: Enterprise) -> None:
    history(hub, [1, 1, 1])
    with time_machine.travel(at(20, 2), tick=False):
        delays.norms_recompute()
    hub.hold("NOW")
    receive(event("NOW", "arrived_hub", at(21, 8), mode="sea", leg=2))
    default = datetime.timedelta(seconds=delays.DEFAULT_SECONDS["arrived_hub"])

    with time_machine.travel(at(21, 8) + default - datetime.timedelta(minutes=1), tick=False):
        assert delays.delays_sweep() == []
    with time_machine.travel(at(21, 8) + default + datetime.timedelta(minutes=1), tick=False):
        assert len(delays.delays_sweep()) == 1


def test_a_new_event_clears_the_flag(hub: FakeHub, carrier: Enterprise) -> None:
    hub.hold("NOW")
    receive(event("NOW", "out_for_delivery", at(21, 8)))
    with time_machine.travel(at(22, 8), tick=False):
        assert len(delays.delays_sweep()) == 1

    receive(event("NOW", "exception", at(22, 9), place="address not found"))

    track = WaybillTrack.objects.get()
    assert (track.delayed, track.delayed_since, track.delays) == (False, None, 1)


def test_delivered_and_unknown_waybills_are_never_late(hub: FakeHub, carrier: Enterprise) -> None:
    hub.hold("DONE")
    receive(event("DONE", "delivered", at(21, 8)), event("STRAY", "picked_up", at(21, 8)))

    with time_machine.travel(at(28, 8), tick=False):
        assert delays.delays_sweep() == []
