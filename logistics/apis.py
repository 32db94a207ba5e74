"""The logistics API: carriers report tracking events; the parties of a parcel read its timeline.

- ``POST /api/v1/logistics/tracking-events``: an active enterprise with role ``logistics``, for
  its own waybills (the event's ``logistics_code`` is the caller's code), one event or up to
  1,000; one result per event.
- ``GET /api/v1/logistics/waybills/{logistics_code}/{logistics_no}/timeline``: the carrier, and
  the parcel's e-commerce enterprise, platform and declaring agent; anyone else 404.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import errors
from core.errors import ApiError, Forbidden, NotFoundError
from core.idempotency import idempotent
from core.openapi import problems
from core.problems import problem_body
from core.times import iso_china
from logistics import selectors, tracking
from logistics.models import DeliveryNoticeState, EventSource, TrackingStatus
from single_window.models import Enterprise, Role
from single_window.permissions import IsActiveEnterprise, caller_enterprise
from single_window.waybills import waybill_facts

# --- Tracking events in -----------------------------------------------------------------------


class EventsInput(serializers.Serializer[Any]):
    events = tracking.EventInput(many=True, help_text="1 to 1,000 events.")

    class Meta:
        ref_name = "TrackingEventsInput"


EVENTS_REQUEST = PolymorphicProxySerializer(
    component_name="TrackingEventsRequest",
    serializers=[tracking.EventInput, EventsInput],
    resource_type_field_name=None,
)


class EventResultOutput(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="The event's place in the request, from 0.")
    status = serializers.ChoiceField(choices=["stored", "duplicate", "refused"])
    id = serializers.IntegerField(required=False, help_text="Stored or duplicate: the stored event's id.")
    problem = serializers.DictField(required=False, help_text="Refused: the problem details of this event.")

    class Meta:
        ref_name = "TrackingEventResult"


class EventsOutput(serializers.Serializer[Any]):
    stored = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = EventResultOutput(many=True)

    class Meta:
        ref_name = "TrackingEventsAnswer"


EVENT_EXAMPLE = {
    "logistics_code": "3301960004",
    "logistics_no": "SF1234567890",
    "status": "departed",
    "place": "Hangzhou Xiaoshan airport",
    "occurred_at": "2026-11-25T10:02:11+08:00",
    "transport_mode": "air",
    "leg": 1,
}
EVENTS_EXAMPLE = {
    "events": [
        EVENT_EXAMPLE,
        {
            **EVENT_EXAMPLE,
            "status": "arrived_hub",
            "place": "Frankfurt hub",
            "occurred_at": "2026-11-26T02:40:00+01:00",
        },
        {**EVENT_EXAMPLE, "logistics_code": "3301960099"},
    ]
}
EVENTS_ANSWER = {
    "stored": 1,
    "duplicate": 1,
    "refused": 1,
    "results": [
        {"index": 0, "status": "stored", "id": 81},
        {"index": 1, "status": "duplicate", "id": 77},
        {
            "index": 2,
            "status": "refused",
            "problem": {
                "type": "urn:single-window:problem:logistics_code_not_yours",
                "title": "Forbidden",
                "status": 403,
                "detail": "The event is for another carrier's waybill: a carrier reports on its own waybills only.",
                "code": "logistics_code_not_yours",
                "instance": "/api/v1/logistics/tracking-events#/events/2",
                "errors": [
                    {
                        "field": "logistics_code",
                        "code": "logistics_code_not_yours",
                        "message": "The event is for another carrier's waybill: a carrier reports on its own "
                        "waybills only.",
                    }
                ],
            },
        },
    ],
}

EVENTS_DESCRIPTION = (
    "A carrier (an active enterprise with role `logistics`) reports where its parcels are: one event, or "
    '`{"events": [...]}` of up to 1,000. Each event is `logistics_code` (yours: a key is bound to its '
    "enterprise's code), `logistics_no`, `status` (`picked_up`, `departed`, `arrived_hub`, `at_customs`, "
    "`released`, `out_for_delivery`, `delivered`, `exception`), `place`, `occurred_at` (ISO 8601 with its "
    "offset; a time without one is refused, `occurred_at_offset_required`), `transport_mode` (`air`, `sea`, "
    "`rail`, `road`, `express`) and `leg` (from 1). The answer has one result per event, in order: `stored`, "
    "`duplicate` (the same carrier, waybill, status, time and leg were stored before; nothing changes) or "
    "`refused` with its problem details (`logistics_code_not_yours` for another carrier's waybill). Events "
    "may arrive in any order: the timeline keeps time order. A waybill the single window does not hold yet "
    "is kept for `LOGISTICS_UNKNOWN_WAYBILL_SECONDS` (7 days) and attached when it arrives. A `delivered` "
    "event after the list's release is reported to customs; before it, the waybill is flagged for "
    "regulators and you and the e-commerce enterprise receive `logistics.delivered_before_release`. Carriers "
    "that are partners may send the same body to `POST /api/v1/webhooks/carriers`, signed."
)


def _result(request: Request, index: int, outcome: tracking.EventOutcome) -> dict[str, Any]:
    if outcome.event is not None:
        return {"index": index, "status": outcome.status, "id": outcome.event.pk}
    error = outcome.error or ApiError()  # a refused outcome always carries its error
    problem = problem_body(
        status=error.status_code,
        code=error.code,
        detail=error.detail,
        errors_=error.errors,
        instance=f"{request.path}#/events/{index}",
        extra=error.extra,
    )
    return {"index": index, "status": "refused", "problem": problem}


class TrackingEventsApi(APIView):
    permission_classes = (IsActiveEnterprise,)

    @extend_schema(
        operation_id="logistics_tracking_events",
        tags=["logistics"],
        summary="Report tracking events of your waybills (one, or up to 1,000)",
        description=EVENTS_DESCRIPTION,
        request=EVENTS_REQUEST,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={
            200: OpenApiResponse(EventsOutput, description="One result per event, in order."),
            **problems(400, 403, 409, 413, 415, 422),
        },
        examples=[
            OpenApiExample("One event", value=EVENT_EXAMPLE, request_only=True),
            OpenApiExample("Several events", value=EVENTS_EXAMPLE, request_only=True),
            OpenApiExample("Stored, duplicate, refused", value=EVENTS_ANSWER, response_only=True, status_codes=["200"]),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        carrier = caller_enterprise(request)
        if not carrier.has_role(Role.LOGISTICS):
            raise Forbidden(_("Only logistics enterprises report tracking events."), code=errors.ROLE_REQUIRED)
        bodies = tracking.events_of(request.data)
        outcomes = tracking.events_receive(carrier_code=carrier.code, bodies=bodies, source=EventSource.API)
        answer = {
            "stored": sum(1 for o in outcomes if o.status == "stored"),
            "duplicate": sum(1 for o in outcomes if o.status == "duplicate"),
            "refused": sum(1 for o in outcomes if o.status == "refused"),
            "results": [_result(request, index, outcome) for index, outcome in enumerate(outcomes)],
        }
        return Response(EventsOutput(answer).data)


# --- The timeline -----------------------------------------------------------------------------


class TimelineEventOutput(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=TrackingStatus.choices)
    place = serializers.CharField()
    occurred_at = serializers.SerializerMethodField()
    transport_mode = serializers.CharField()
    leg = serializers.IntegerField()
    source = serializers.ChoiceField(choices=EventSource.choices)  # type: ignore[assignment]  # the event's field, not DRF's

    class Meta:
        ref_name = "TimelineEvent"

    def get_occurred_at(self, event: selectors.TimelineEvent) -> str:
        return iso_china(event.occurred_at)


def _iso(value: Any) -> str | None:
    return iso_china(value) if value is not None else None


class TimelineOutput(serializers.Serializer[Any]):
    logistics_code = serializers.CharField()
    logistics_no = serializers.CharField()
    known = serializers.BooleanField(help_text="The single window holds the waybill.")
    current_status = serializers.CharField(help_text="The status of the latest event by time.")
    current_leg = serializers.IntegerField(allow_null=True)
    current_mode = serializers.CharField()
    status_since = serializers.SerializerMethodField()
    delayed = serializers.BooleanField(help_text="No event for longer than the usual time of this status.")
    delayed_since = serializers.SerializerMethodField()
    delivered_at = serializers.SerializerMethodField()
    delivery_notice = serializers.ChoiceField(
        choices=DeliveryNoticeState.choices,
        help_text="sent: customs was told of the delivery; not_released_flagged: delivered before release.",
    )
    events = TimelineEventOutput(many=True)

    class Meta:
        ref_name = "WaybillTimeline"

    def get_status_since(self, timeline: selectors.Timeline) -> str | None:
        return _iso(timeline.status_since)

    def get_delayed_since(self, timeline: selectors.Timeline) -> str | None:
        return _iso(timeline.delayed_since)

    def get_delivered_at(self, timeline: selectors.Timeline) -> str | None:
        return _iso(timeline.delivered_at)


TIMELINE_EXAMPLE = {
    "logistics_code": "3301960004",
    "logistics_no": "SF1234567890",
    "known": True,
    "current_status": "arrived_hub",
    "current_leg": 1,
    "current_mode": "air",
    "status_since": "2026-11-26T09:40:00+08:00",
    "delayed": False,
    "delayed_since": None,
    "delivered_at": None,
    "delivery_notice": "none",
    "events": [
        {
            "status": "picked_up",
            "place": "Hangzhou",
            "occurred_at": "2026-11-25T08:00:00+08:00",
            "transport_mode": "air",
            "leg": 1,
            "source": "api",
        },
        {
            "status": "departed",
            "place": "Hangzhou Xiaoshan airport",
            "occurred_at": "2026-11-25T10:02:11+08:00",
            "transport_mode": "air",
            "leg": 1,
            "source": "webhook",
        },
        {
            "status": "arrived_hub",
            "place": "Frankfurt hub",
            "occurred_at": "2026-11-26T09:40:00+08:00",
            "transport_mode": "air",
            "leg": 1,
            "source": "api",
        },
    ],
}


def _may_read(enterprise: Enterprise, timeline: selectors.Timeline) -> bool:
    """The carrier, and the parcel's e-commerce enterprise, platform and declaring agent (as the
    single window knows them now)."""
    mine = set(enterprise.codes)
    if timeline.logistics_code in mine:
        return True
    if not timeline.known:
        return False
    facts = waybill_facts(timeline.logistics_code, timeline.logistics_no)
    parties = (
        {facts.ebc_code, facts.ebp_code, facts.agent_code}
        if facts is not None
        else {timeline.ebc_code, timeline.ebp_code, timeline.agent_code}
    )
    return bool(mine & (parties - {""}))


class WaybillTimelineApi(APIView):
    permission_classes = (IsActiveEnterprise,)

    @extend_schema(
        operation_id="logistics_waybill_timeline",
        tags=["logistics"],
        summary="A waybill's tracking timeline",
        description=(
            "The carrier's events of a waybill in time order (whatever order they arrived in), with its "
            "current status (the latest event by time), whether it is delayed (no event for longer than the "
            "usual time of its status on its carrier's route) and what became of its delivery "
            "(`delivery_notice`). Read by the carrier, and by the parcel's e-commerce enterprise, platform "
            "and declaring agent; anyone else gets 404, as for a waybill nobody reported on."
        ),
        responses={
            200: OpenApiResponse(TimelineOutput, examples=[OpenApiExample("Timeline", value=TIMELINE_EXAMPLE)]),
            **problems(404),
        },
    )
    def get(self, request: Request, logistics_code: str, logistics_no: str) -> Response:
        enterprise = caller_enterprise(request)
        timeline = selectors.timeline_of(logistics_code, logistics_no)
        if timeline is None or not _may_read(enterprise, timeline):
            raise NotFoundError()
        return Response(TimelineOutput(timeline).data)
