"""What monitoring and the parcel trace read: the timeline, times per leg and per journey, and
the share of delayed waybills."""

from __future__ import annotations

import dataclasses

import pytest

from logistics import selectors, tracking
from logistics.models import EventSource, WaybillTrack
from logistics.tests.fakes import CARRIER, FakeHub, at, event
from single_window.models import Enterprise

pytestmark = pytest.mark.django_db


def receive(*bodies: dict[str, object]) -> None:
    tracking.events_receive(carrier_code=CARRIER, bodies=list(bodies), source=EventSource.API)


def journey(hub: FakeHub, number: str, day: int, hours_on_leg_1: int) -> None:
    hub.hold(number, released_at=at(day, 1))
    receive(
        event(number, "picked_up", at(day, 2), mode="air", leg=1),
        event(number, "arrived_hub", at(day, 2 + hours_on_leg_1), mode="air", leg=1),
        event(number, "out_for_delivery", at(day, 2 + hours_on_leg_1 + 1), mode="road", leg=2),
        event(number, "delivered", at(day, 2 + hours_on_leg_1 + 3), mode="road", leg=2),
    )


def test_the_timeline_is_frozen_and_in_time_order(hub: FakeHub, carrier: Enterprise) -> None:
    hub.hold("WB1")
    receive(event("WB1", "departed", at(25, 10)), event("WB1", "picked_up", at(25, 8)))

    timeline = selectors.timeline_of(CARRIER, "WB1")

    assert timeline is not None
    assert [e.status for e in timeline.events] == ["picked_up", "departed"]
    assert timeline.current_status == "departed"
    with pytest.raises(dataclasses.FrozenInstanceError):
        timeline.delayed = True  # type: ignore[misc]
    assert selectors.timeline_of(CARRIER, "NOBODY") is None


def test_times_per_leg_and_journey_with_median_and_p90(hub: FakeHub, carrier: Enterprise) -> None:
    for index, hours in enumerate([1, 2, 3, 4]):
        journey(hub, f"WB{index}", 10 + index, hours)

    legs = selectors.leg_times(since=at(1, 0), until=at(30, 0))
    journeys = selectors.journey_times(since=at(1, 0), until=at(30, 0))

    by_leg = {(d.transport_mode, d.leg): d for d in legs}
    assert by_leg[("air", 1)].count == 4
    assert by_leg[("air", 1)].median_seconds == 2.5 * 3600 + 3600  # to the next leg's first event
    assert by_leg[("air", 1)].p90_seconds == 5 * 3600
    assert by_leg[("road", 2)].median_seconds == 2 * 3600
    (door,) = journeys
    assert (door.logistics_code, door.transport_mode, door.count) == (CARRIER, "road", 4)
    assert door.p90_seconds == 7 * 3600
    assert selectors.leg_times(since=at(12, 0), until=at(13, 0))[0].count == 1


def test_the_share_of_delayed_waybills_by_carrier_and_mode(hub: FakeHub, carrier: Enterprise) -> None:
    journey(hub, "WB1", 10, 1)
    journey(hub, "WB2", 11, 1)
    WaybillTrack.objects.filter(logistics_no="WB1").update(delays=1)

    (share,) = selectors.delay_shares(since=at(1, 0), until=at(30, 0))

    assert (share.logistics_code, share.transport_mode, share.waybills, share.delayed) == (CARRIER, "road", 2, 1)
    assert share.share == 0.5
