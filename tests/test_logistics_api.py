"""The logistics API as carriers and the parties of a parcel use it: tracking events in (one,
many, duplicates, out of order, refusals one by one), and the waybill's timeline, read by the
carrier and the parcel's enterprises and by nobody else."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from logistics.models import TrackingEvent, WaybillTrack
from logistics.tests.fakes import AGENT, CARRIER, EBC, EBP, OTHER_CARRIER, FakeHub, at, event, install
from single_window.models import Role
from tests.factories import Persona, assert_problem, persona

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/logistics/tracking-events"


def timeline_url(number: str, code: str = CARRIER) -> str:
    return f"/api/v1/logistics/waybills/{code}/{number}/timeline"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    return install(monkeypatch)


@pytest.fixture
def carrier(db: None) -> Persona:
    return persona(customs_code=CARRIER, roles=[Role.LOGISTICS], name="Carrier Ltd")


@pytest.fixture
def carrier_client(carrier: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(carrier)


def post(client: APIClient, body: object, **headers: Any) -> Any:
    return client.post(EVENTS, data=json.dumps(body), content_type="application/json", **headers)


def test_a_carrier_reports_one_event(hub: FakeHub, carrier_client: APIClient) -> None:
    hub.hold("WB1")

    answer = post(carrier_client, event("WB1", "picked_up", at(25, 8)))

    assert answer.status_code == 200, answer.content
    stored = TrackingEvent.objects.get()
    assert answer.json() == {
        "stored": 1,
        "duplicate": 0,
        "refused": 0,
        "results": [{"index": 0, "status": "stored", "id": stored.pk}],
    }
    assert (stored.source, stored.status, stored.occurred_at) == ("api", "picked_up", at(25, 8))


def test_many_events_answer_one_result_each_and_a_refusal_holds_back_nothing(
    hub: FakeHub, carrier_client: APIClient
) -> None:
    hub.hold("WB1")
    events = [
        event("WB1", "arrived_hub", at(26, 9)),
        event("WB1", "picked_up", at(25, 8)),
        event("WB1", "picked_up", at(25, 8)),
        event("WB1", "departed", "2026-11-25T10:00:00"),
        event("WB9", "departed", at(25, 10), logistics_code=OTHER_CARRIER),
    ]

    answer = post(carrier_client, {"events": events})

    assert answer.status_code == 200
    body = answer.json()
    assert (body["stored"], body["duplicate"], body["refused"]) == (2, 1, 2)
    assert [r["status"] for r in body["results"]] == ["stored", "stored", "duplicate", "refused", "refused"]
    naive = body["results"][3]["problem"]
    assert naive["code"] == "validation_failed"
    assert naive["errors"] == [
        {"field": "occurred_at", "code": "occurred_at_offset_required", "message": naive["errors"][0]["message"]}
    ]
    assert naive["instance"] == f"{EVENTS}#/events/3"
    foreign = body["results"][4]["problem"]
    assert (foreign["status"], foreign["code"]) == (403, "logistics_code_not_yours")
    assert not WaybillTrack.objects.filter(logistics_code=OTHER_CARRIER).exists()
    track = WaybillTrack.objects.get()
    assert track.current_status == "arrived_hub"
    assert TrackingEvent.objects.count() == 2


def test_an_idempotency_key_replays_the_answer(hub: FakeHub, carrier_client: APIClient) -> None:
    hub.hold("WB1")
    body = event("WB1", "picked_up", at(25, 8))

    first = post(carrier_client, body, HTTP_IDEMPOTENCY_KEY="track-1")
    again = post(carrier_client, body, HTTP_IDEMPOTENCY_KEY="track-1")

    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert TrackingEvent.objects.count() == 1


def test_an_enterprise_without_the_logistics_role_is_refused(
    hub: FakeHub, owner_client: APIClient, owner: Persona
) -> None:
    answer = post(owner_client, event("WB1", "picked_up", at(25, 8), logistics_code=owner.code))

    assert_problem(answer, 403, "role_required")
    assert not TrackingEvent.objects.exists()


def test_a_body_that_is_not_an_event_is_refused_as_a_whole(hub: FakeHub, carrier_client: APIClient) -> None:
    assert_problem(post(carrier_client, {"events": []}), 400, "validation_failed")
    assert_problem(post(carrier_client, [1, 2]), 400, "validation_failed")
    too_many = {"events": [event("WB1", "picked_up", at(25, 8))] * 1001}
    body = assert_problem(post(carrier_client, too_many), 400, "validation_failed")
    assert body["errors"][0]["code"] == "tracking_too_many_events"
    assert not TrackingEvent.objects.exists()


# --- The timeline -----------------------------------------------------------------------------


def test_the_timeline_is_in_time_order_with_the_current_status(hub: FakeHub, carrier_client: APIClient) -> None:
    hub.hold("WB1")
    post(carrier_client, event("WB1", "departed", at(25, 10)))
    post(carrier_client, event("WB1", "picked_up", at(25, 8)))

    answer = carrier_client.get(timeline_url("WB1"))

    assert answer.status_code == 200
    body = answer.json()
    assert [e["status"] for e in body["events"]] == ["picked_up", "departed"]
    assert body["events"][0]["occurred_at"] == "2026-11-25T08:00:00+08:00"
    assert {k: body[k] for k in ("current_status", "status_since", "delayed", "delivery_notice", "known")} == {
        "current_status": "departed",
        "status_since": "2026-11-25T10:00:00+08:00",
        "delayed": False,
        "delivery_notice": "none",
        "known": True,
    }


@pytest.mark.parametrize("code", [EBC, EBP, AGENT])
def test_the_parcels_enterprises_read_the_timeline(
    hub: FakeHub, carrier_client: APIClient, client_for: Callable[[Persona], APIClient], code: str
) -> None:
    hub.hold("WB1")
    post(carrier_client, event("WB1", "picked_up", at(25, 8)))
    reader = persona(customs_code=code, roles=[Role.EBC, Role.EBP, Role.AGENT])

    answer = client_for(reader).get(timeline_url("WB1"))

    assert answer.status_code == 200
    assert answer.json()["current_status"] == "picked_up"


def test_anyone_else_gets_not_found_as_for_a_waybill_nobody_reported(
    hub: FakeHub, carrier_client: APIClient, outsider_client: APIClient, client_for: Callable[[Persona], APIClient]
) -> None:
    hub.hold("WB1")
    post(carrier_client, event("WB1", "picked_up", at(25, 8)))
    post(carrier_client, event("STRAY", "picked_up", at(25, 8)))  # unknown: the carrier's only
    other_carrier = persona(customs_code=OTHER_CARRIER, roles=[Role.LOGISTICS])

    assert_problem(outsider_client.get(timeline_url("WB1")), 404, "not_found")
    assert_problem(client_for(other_carrier).get(timeline_url("WB1")), 404, "not_found")
    assert_problem(carrier_client.get(timeline_url("NOBODY")), 404, "not_found")
    assert carrier_client.get(timeline_url("STRAY")).status_code == 200
    seller = persona(customs_code=EBC, roles=[Role.EBC])
    assert_problem(client_for(seller).get(timeline_url("STRAY")), 404, "not_found")


def test_a_delivery_after_release_shows_the_notice_sent(hub: FakeHub, carrier_client: APIClient) -> None:
    hub.hold("WB1", released_at=at(25, 12))

    post(carrier_client, event("WB1", "delivered", at(26, 15)))

    body = carrier_client.get(timeline_url("WB1")).json()
    assert (body["delivery_notice"], body["delivered_at"]) == ("sent", "2026-11-26T15:00:00+08:00")
    assert len(hub.notices) == 1
