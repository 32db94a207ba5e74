"""Tracking events stored once, in time order, attached to their waybill when it arrives, and
a delivery told to customs once or flagged when it came before release."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.test import override_settings

from logistics import event_types, tracking
from logistics.models import DeliveryNoticeState, EventSource, TrackingEvent, WaybillTrack
from logistics.tests.fakes import CARRIER, EBC, OTHER_CARRIER, FakeHub, at, event
from single_window.models import Enterprise, Event

pytestmark = pytest.mark.django_db


def receive(*bodies: dict[str, object], carrier_code: str = CARRIER) -> list[tracking.EventOutcome]:
    return tracking.events_receive(carrier_code=carrier_code, bodies=list(bodies), source=EventSource.API)


def test_the_same_event_twice_is_stored_once(hub: FakeHub, carrier: Enterprise) -> None:
    hub.hold("WB1")
    first = event("WB1", "picked_up", at(25, 8))

    outcomes = receive(first, first)

    assert [o.status for o in outcomes] == ["stored", "duplicate"]
    assert outcomes[0].event == outcomes[1].event
    assert TrackingEvent.objects.count() == 1
    assert receive(first)[0].status == "duplicate"


def test_events_arriving_out_of_order_keep_time_order(hub: FakeHub, carrier: Enterprise) -> None:
    hub.hold("WB1")

    receive(event("WB1", "arrived_hub", at(26, 9)))
    receive(event("WB1", "picked_up", at(25, 8)))
    receive(event("WB1", "departed", at(25, 10)))

    track = WaybillTrack.objects.get(logistics_no="WB1")
    assert track.current_status == "arrived_hub"
    assert track.current_at == at(26, 9)
    assert track.first_event_at == at(25, 8)
    assert list(track.events.order_by("occurred_at").values_list("status", flat=True)) == [
        "picked_up",
        "departed",
        "arrived_hub",
    ]


def test_a_time_with_another_offset_is_the_same_instant(hub: FakeHub, carrier: Enterprise) -> None:
    hub.hold("WB1")
    receive(event("WB1", "departed", "2026-11-25T10:00:00+08:00"))

    outcome = receive(event("WB1", "departed", "2026-11-25T02:00:00Z"))[0]

    assert outcome.status == "duplicate"


def test_a_time_without_an_offset_is_refused_with_a_field_error(hub: FakeHub, carrier: Enterprise) -> None:
    outcome = receive(event("WB1", "departed", "2026-11-25T10:00:00"))[0]

    assert outcome.status == "refused"
    assert outcome.error is not None
    assert [(e.field, e.code) for e in outcome.error.errors] == [("occurred_at", "occurred_at_offset_required")]
    assert not WaybillTrack.objects.exists()


def test_an_event_for_another_carriers_waybill_is_refused_and_nothing_stored(hub: FakeHub, carrier: Enterprise) -> None:
    hub.hold("WB1", logistics_code=OTHER_CARRIER)

    outcome = receive(event("WB1", "departed", at(25, 10), logistics_code=OTHER_CARRIER))[0]

    assert outcome.status == "refused"
    assert outcome.error is not None
    assert outcome.error.code == "logistics_code_not_yours"
    assert not WaybillTrack.objects.exists()
    assert not TrackingEvent.objects.exists()


def test_unknown_codes_in_an_event_are_refused_one_by_one(hub: FakeHub, carrier: Enterprise) -> None:
    hub.hold("WB1")
    bad = {**event("WB1", "teleported", at(25, 10)), "transport_mode": "rocket", "leg": 0}

    outcomes = receive(bad, event("WB1", "departed", at(25, 10)))

    assert outcomes[0].status == "refused"
    assert outcomes[0].error is not None
    assert {e.field for e in outcomes[0].error.errors} == {"status", "transport_mode", "leg"}
    assert outcomes[1].status == "stored"


def test_a_carriers_released_is_only_a_tracking_event(hub: FakeHub, carrier: Enterprise) -> None:
    hub.hold("WB1")

    receive(event("WB1", "released", at(25, 12)))

    track = WaybillTrack.objects.get()
    assert track.current_status == "released"
    assert track.released_at is None  # the list's release is customs', as the hub reports it
    assert hub.notices == []


# --- Unknown waybills -------------------------------------------------------------------------


@override_settings(LOGISTICS_UNKNOWN_WAYBILL_SECONDS=3600)
def test_early_events_of_an_unknown_waybill_are_kept_and_attached_when_it_arrives(
    hub: FakeHub, carrier: Enterprise
) -> None:
    with time_machine.travel(at(25, 8, 5), tick=False):
        receive(event("WB1", "picked_up", at(25, 8)))
    track = WaybillTrack.objects.get()
    assert (track.known, track.expires_at) == (False, at(25, 9, 5))

    with time_machine.travel(at(25, 8, 30), tick=False):
        assert tracking.unknown_tracks_attach() == 0
        hub.hold("WB1")
        assert tracking.unknown_tracks_attach() == 1

    track.refresh_from_db()
    assert (track.known, track.expires_at, track.ebc_code, track.customs_code) == (True, None, EBC, "2901")
    assert track.events.count() == 1


def test_a_new_event_attaches_an_unknown_waybill_the_hub_now_holds(hub: FakeHub, carrier: Enterprise) -> None:
    receive(event("WB1", "picked_up", at(25, 8)))
    hub.hold("WB1")

    receive(event("WB1", "departed", at(25, 10)))

    track = WaybillTrack.objects.get()
    assert track.known
    assert track.events.count() == 2


@override_settings(LOGISTICS_UNKNOWN_WAYBILL_SECONDS=3600)
def test_unknown_tracks_past_their_expiry_go_with_their_events(hub: FakeHub, carrier: Enterprise) -> None:
    hub.hold("KNOWN")
    with time_machine.travel(at(25, 8), tick=False):
        receive(event("LOST", "picked_up", at(25, 7)), event("LOST", "departed", at(25, 7, 30)))
        receive(event("KNOWN", "picked_up", at(25, 7)))
    with time_machine.travel(at(25, 8, 59), tick=False):
        assert tracking.unknown_tracks_expire() == 0
    with time_machine.travel(at(25, 9, 1), tick=False):
        assert tracking.unknown_tracks_expire() == 1

    assert list(WaybillTrack.objects.values_list("logistics_no", flat=True)) == ["KNOWN"]
    assert list(TrackingEvent.objects.values_list("logistics_no", flat=True)) == ["KNOWN"]


# --- Delivery ---------------------------------------------------------------------------------


def test_a_delivery_after_release_is_told_to_customs_once(
    hub: FakeHub, carrier: Enterprise, seller: Enterprise
) -> None:
    hub.hold("WB1", released_at=at(25, 12))

    receive(event("WB1", "delivered", at(26, 15), place="Shanghai"))
    receive(event("WB1", "delivered", at(26, 15), place="Shanghai"))  # the same event again
    receive(event("WB1", "delivered", at(26, 16), place="Shanghai"))  # another delivery report

    assert len(hub.notices) == 1
    notice = hub.notices[0]
    assert (notice.logistics_no, notice.delivered_at, notice.place) == ("WB1", at(26, 15), "Shanghai")
    track = WaybillTrack.objects.get()
    assert track.delivery_notice == DeliveryNoticeState.SENT
    assert not track.delivered_before_release
    assert not Event.objects.filter(type=event_types.DELIVERED_BEFORE_RELEASE).exists()


def test_a_delivery_before_release_is_flagged_and_told_to_the_carrier_and_seller_not_customs(
    hub: FakeHub, carrier: Enterprise, seller: Enterprise
) -> None:
    hub.hold("WB1")

    receive(event("WB1", "delivered", at(26, 15)))
    receive(event("WB1", "delivered", at(26, 16)))

    assert hub.notices == []
    track = WaybillTrack.objects.get()
    assert track.delivery_notice == DeliveryNoticeState.NOT_RELEASED_FLAGGED
    assert track.delivered_before_release
    told = Event.objects.filter(type=event_types.DELIVERED_BEFORE_RELEASE)
    assert set(told.values_list("enterprise__customs_code", flat=True)) == {CARRIER, EBC}
    assert told.count() == 2
    payload = told.first().payload  # type: ignore[union-attr]
    assert payload["logistics_no"] == "WB1"
    assert payload["released_at"] is None


def test_a_delivery_reported_before_the_release_time_is_flagged(
    hub: FakeHub, carrier: Enterprise, seller: Enterprise
) -> None:
    hub.hold("WB1", released_at=at(26, 18))

    receive(event("WB1", "delivered", at(26, 15)))

    assert hub.notices == []
    assert WaybillTrack.objects.get().delivery_notice == DeliveryNoticeState.NOT_RELEASED_FLAGGED


def test_a_delivery_of_an_unknown_waybill_is_judged_when_it_is_attached(
    hub: FakeHub, carrier: Enterprise, seller: Enterprise
) -> None:
    receive(event("WB1", "delivered", at(26, 15)))
    assert hub.notices == []

    hub.hold("WB1", released_at=at(25, 12))
    tracking.unknown_tracks_attach()

    assert [n.logistics_no for n in hub.notices] == ["WB1"]
    assert WaybillTrack.objects.get().delivery_notice == DeliveryNoticeState.SENT


def test_without_an_app_that_sends_notices_the_delivery_stays_untold(
    hub: FakeHub, carrier: Enterprise, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("single_window.waybills._NOTICE", [])
    hub.hold("WB1", released_at=at(25, 12))

    receive(event("WB1", "delivered", at(26, 15)))

    assert WaybillTrack.objects.get().delivery_notice == DeliveryNoticeState.NONE


def test_the_expiry_default_is_seven_days(hub: FakeHub, carrier: Enterprise) -> None:
    with time_machine.travel(at(25, 8), tick=False):
        receive(event("WB1", "picked_up", at(25, 7)))

    assert WaybillTrack.objects.get().expires_at == at(25, 8) + datetime.timedelta(days=7)
