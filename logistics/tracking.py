"""Carriers' tracking events in: validated, stored once, folded into their waybill's track.

One path for the API (``POST /api/v1/logistics/tracking-events``) and the carriers' signed
webhook (the hub's inbox, ``logistics.carrier_messages``): ``events_receive`` takes the bodies
as sent and answers one outcome per event, in order. Each event is stored in a savepoint of its
own, so one refusal never holds back the others.

Storing one event (``event_store``), under its track's row lock:

1. the track is found or made; a new one asks the hub whether the single window holds the
   waybill (``waybill_facts``): known, with its parties' codes, or unknown and kept until
   ``LOGISTICS_UNKNOWN_WAYBILL_SECONDS`` from now;
2. the same event again (carrier, waybill, status, occurred_at, leg) is a duplicate and changes
   nothing;
3. the track's current status is the latest event by ``occurred_at`` (events arrive out of
   order), a delay flag is cleared by any new event;
4. a ``delivered`` event of a known waybill is judged (``_judge_delivery``): after the list's
   release customs is told once (``single_window.waybills.delivery_notice``); before it the
   track is flagged and the carrier and the e-commerce enterprise are told. A carrier's
   ``released`` is a tracking event and nothing more: only customs releases a list.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import errors
from core.errors import ApiError, FieldError, Forbidden, InvalidInput
from core.problems import flatten_validation
from core.times import iso_china
from logistics import codes, event_types
from logistics.models import (
    DeliveryNoticeState,
    EventSource,
    TrackingEvent,
    TrackingStatus,
    TransportMode,
    WaybillTrack,
)
from logistics.models.tracking import STATUS_RANK
from single_window import selectors as registry
from single_window import waybills
from single_window.events import event_publish

logger = logging.getLogger(__name__)

MAX_EVENTS = 1000


# --- Input ------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.DATETIME)
class OffsetDateTimeField(serializers.Field[datetime.datetime, str, str, Any]):
    """ISO 8601 with a UTC offset (``2026-11-25T10:02:11+08:00`` or ``...Z``); a time without
    one names no instant and is refused (``occurred_at_offset_required``)."""

    default_error_messages = {
        "invalid": _("Not an ISO 8601 date and time."),
        codes.OCCURRED_AT_OFFSET_REQUIRED: _("The time needs a UTC offset, e.g. +08:00."),
    }

    def to_internal_value(self, data: Any) -> datetime.datetime:
        parsed = None
        if isinstance(data, str):
            try:
                parsed = parse_datetime(data.strip())
            except ValueError:
                parsed = None
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.fail(codes.OCCURRED_AT_OFFSET_REQUIRED)
        return parsed

    def to_representation(self, value: datetime.datetime) -> str:
        return iso_china(value)


class EventInput(serializers.Serializer[Any]):
    logistics_code = serializers.CharField(max_length=64, help_text="The carrier's customs code: your own.")
    logistics_no = serializers.CharField(max_length=60, help_text="The waybill number (logisticsNo).")
    status = serializers.ChoiceField(choices=TrackingStatus.choices)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    occurred_at = OffsetDateTimeField(help_text="ISO 8601 with its offset, e.g. 2026-11-25T10:02:11+08:00.")
    transport_mode = serializers.ChoiceField(choices=TransportMode.choices)
    leg = serializers.IntegerField(min_value=1, max_value=99, help_text="The leg of the journey, from 1.")

    class Meta:
        ref_name = "TrackingEventInput"


@dataclass(frozen=True)
class EventFacts:
    logistics_code: str
    logistics_no: str
    status: str
    place: str
    occurred_at: datetime.datetime
    transport_mode: str
    leg: int


def event_validate(body: object) -> EventFacts:
    """One event as sent, or ``InvalidInput`` naming every broken field."""
    if not isinstance(body, Mapping):
        raise _invalid(None, errors.INVALID, _("An event is a JSON object."))
    serializer = EventInput(data=body)
    if not serializer.is_valid():
        raise InvalidInput(_("The request has invalid fields."), errors=list(flatten_validation(serializer.errors)))
    data = serializer.validated_data
    return EventFacts(
        logistics_code=data["logistics_code"].strip(),
        logistics_no=data["logistics_no"].strip(),
        status=data["status"],
        place=data["place"],
        occurred_at=data["occurred_at"],
        transport_mode=data["transport_mode"],
        leg=data["leg"],
    )


def _invalid(field: str | None, code: str, message: Any) -> InvalidInput:
    """``validation_failed`` naming the one field at fault."""
    return InvalidInput(_("The request has invalid fields."), errors=[FieldError(field, code, message)])


def events_of(body: object) -> list[object]:
    """The events of a request body: one event object, or ``{"events": [...]}`` of up to 1,000."""
    if isinstance(body, Mapping) and "events" in body:
        events = body["events"]
        if not isinstance(events, list) or not events:
            raise _invalid("events", errors.INVALID, _("events is a list of 1 to 1,000 events."))
        if len(events) > MAX_EVENTS:
            raise _invalid("events", codes.TOO_MANY_EVENTS, _("At most 1,000 events may be sent in one request."))
        return list(events)
    if isinstance(body, Mapping):
        return [body]
    raise _invalid(None, errors.INVALID, _('The body is an event, or {"events": [...]}.'))


# --- Outcomes ---------------------------------------------------------------------------------


Outcome = Literal["stored", "duplicate", "refused"]


@dataclass(frozen=True)
class EventOutcome:
    """What became of one event: stored, a duplicate of one stored before, or refused."""

    status: Outcome
    event: TrackingEvent | None = None
    error: ApiError | None = None


class LogisticsCodeNotYours(Forbidden):
    default_code = codes.LOGISTICS_CODE_NOT_YOURS
    default_detail = _("The event is for another carrier's waybill: a carrier reports on its own waybills only.")


def events_receive(*, carrier_code: str, bodies: Sequence[object], source: str) -> list[EventOutcome]:
    """Store or refuse each event of ``bodies`` as sent by the carrier of ``carrier_code``;
    one outcome per event, in order."""
    outcomes: list[EventOutcome] = []
    with transaction.atomic():
        for body in bodies:
            try:
                facts = event_validate(body)
                if facts.logistics_code != carrier_code:
                    raise LogisticsCodeNotYours(
                        errors=[
                            FieldError(
                                "logistics_code", codes.LOGISTICS_CODE_NOT_YOURS, LogisticsCodeNotYours.default_detail
                            )
                        ]
                    )
                outcomes.append(event_store(facts=facts, source=source))
            except ApiError as error:
                outcomes.append(EventOutcome(status="refused", error=error))
    return outcomes


# --- Storing ----------------------------------------------------------------------------------


def _apply_facts(track: WaybillTrack, facts: waybills.WaybillFacts, now: datetime.datetime) -> None:
    track.known = True
    track.known_at = track.known_at or now
    track.expires_at = None
    track.ebp_code = facts.ebp_code
    track.order_no = facts.order_no
    track.ebc_code = facts.ebc_code
    track.agent_code = facts.agent_code
    track.customs_code = facts.customs_code[:4]
    track.released_at = facts.released_at


def _locked_track(logistics_code: str, logistics_no: str, now: datetime.datetime) -> WaybillTrack:
    """The waybill's track, locked until commit; made (and the hub asked about it) on first use."""
    track = (
        WaybillTrack.objects.select_for_update()
        .filter(logistics_code=logistics_code, logistics_no=logistics_no)
        .first()
    )
    if track is not None:
        return track
    carrier = registry.enterprise_get_by_code(code=logistics_code)
    track = WaybillTrack(
        logistics_code=logistics_code,
        logistics_no=logistics_no,
        park_code=carrier.park.code if carrier is not None and carrier.park is not None else "",
        expires_at=now + datetime.timedelta(seconds=settings.LOGISTICS_UNKNOWN_WAYBILL_SECONDS),
    )
    facts = waybills.waybill_facts(logistics_code, logistics_no)
    if facts is not None:
        _apply_facts(track, facts, now)
    try:
        with transaction.atomic():
            track.save()
    except IntegrityError:
        pass  # a parallel event made it: wait for its lock below
    return WaybillTrack.objects.select_for_update().get(logistics_code=logistics_code, logistics_no=logistics_no)


def _is_later(event: TrackingEvent, track: WaybillTrack) -> bool:
    """The event is now the parcel's latest: by occurred_at, then leg, then the journey's order."""
    if track.current_at is None:
        return True
    mine = (event.occurred_at, event.leg, STATUS_RANK[event.status])
    current = (track.current_at, track.current_leg or 0, STATUS_RANK.get(track.current_status, -1))
    return mine >= current


def event_store(*, facts: EventFacts, source: str = EventSource.API) -> EventOutcome:
    """Store one validated event once and update its waybill's track (see the module's steps)."""
    now = timezone.now()
    with transaction.atomic():
        # 1. The track, locked: the events of one waybill are applied one at a time.
        track = _locked_track(facts.logistics_code, facts.logistics_no, now)
        attached = False
        if not track.known:
            found = waybills.waybill_facts(track.logistics_code, track.logistics_no)
            if found is not None:
                _apply_facts(track, found, now)
                attached = True
        # 2. Once per (carrier, waybill, status, occurred_at, leg).
        earlier = TrackingEvent.objects.filter(
            logistics_code=facts.logistics_code,
            logistics_no=facts.logistics_no,
            status=facts.status,
            occurred_at=facts.occurred_at,
            leg=facts.leg,
        ).first()
        if earlier is not None:
            if attached:
                track.save()
            return EventOutcome(status="duplicate", event=earlier)
        event = TrackingEvent.objects.create(
            track=track,
            logistics_code=facts.logistics_code,
            logistics_no=facts.logistics_no,
            status=facts.status,
            place=facts.place,
            occurred_at=facts.occurred_at,
            transport_mode=facts.transport_mode,
            leg=facts.leg,
            source=source,
        )
        # 3. The current status is the latest by time, whatever the order of arrival.
        track.first_event_at = min(filter(None, (track.first_event_at, event.occurred_at)))
        track.last_event_at = max(filter(None, (track.last_event_at, event.occurred_at)))
        track.last_received_at = now
        if _is_later(event, track):
            track.current_status = event.status
            track.current_leg = event.leg
            track.current_mode = event.transport_mode
            track.current_at = event.occurred_at
        track.delayed, track.delayed_since = False, None
        if event.status == TrackingStatus.DELIVERED and (
            track.delivered_at is None or event.occurred_at < track.delivered_at
        ):
            track.delivered_at = event.occurred_at
        track.save()
        # 4. A delivery of a known waybill: customs told, or flagged.
        if track.known and track.delivered_at is not None and (event.status == TrackingStatus.DELIVERED or attached):
            _judge_delivery(track, now=now)
    return EventOutcome(status="stored", event=event)


# --- Delivery ---------------------------------------------------------------------------------


def _parties(track: WaybillTrack) -> list[Any]:
    found = registry.enterprises_by_codes([track.logistics_code, track.ebc_code])
    seen: dict[int, Any] = {}
    for code in (track.logistics_code, track.ebc_code):
        enterprise = found.get(code)
        if enterprise is not None:
            seen.setdefault(enterprise.pk, enterprise)
    return list(seen.values())


def publish(track: WaybillTrack, type_: str, extra: Mapping[str, Any]) -> None:
    """Tell the carrier and the parcel's e-commerce enterprise (each once), in the caller's transaction."""
    payload = {
        "logistics_code": track.logistics_code,
        "logistics_no": track.logistics_no,
        "status": track.current_status,
        "leg": track.current_leg,
        "transport_mode": track.current_mode,
        "status_since": iso_china(track.current_at) if track.current_at else None,
        **extra,
    }
    for enterprise in _parties(track):
        event_publish(
            enterprise=enterprise,
            type=type_,
            payload=payload,
            subject=f"waybill:{track.logistics_code}:{track.logistics_no}",
        )


def _judge_delivery(track: WaybillTrack, *, now: datetime.datetime) -> None:
    """The delivery of a known track (locked by the caller): after its list's release, customs
    is told once; before it (or with no list released), the track is flagged once."""
    if track.delivered_at is None or track.delivery_notice == DeliveryNoticeState.SENT:
        return
    facts = waybills.waybill_facts(track.logistics_code, track.logistics_no)
    if facts is not None:
        _apply_facts(track, facts, now)
    released_at = track.released_at
    # Carriers give times to the second: a delivery in the very second of the release is not
    # before it (the release, from customs' receipt or its recording, may carry a fraction).
    if released_at is not None and track.delivered_at >= released_at.replace(microsecond=0):
        delivered = track.events.filter(status=TrackingStatus.DELIVERED).order_by("occurred_at", "id").first()
        delivery = waybills.Delivery(
            logistics_code=track.logistics_code,
            logistics_no=track.logistics_no,
            delivered_at=track.delivered_at,
            place=delivered.place if delivered is not None else "",
        )
        if waybills.delivery_notice(delivery):
            track.delivery_notice = DeliveryNoticeState.SENT
            track.delivery_notice_at = now
        else:
            logger.warning("no app sends delivery notices; %s is not told to customs", track)
        track.save()
        return
    if track.delivery_notice == DeliveryNoticeState.NOT_RELEASED_FLAGGED:
        track.save()
        return
    track.delivery_notice = DeliveryNoticeState.NOT_RELEASED_FLAGGED
    track.delivery_notice_at = now
    track.delivered_before_release = True
    track.save()
    publish(
        track,
        event_types.DELIVERED_BEFORE_RELEASE,
        {
            "delivered_at": iso_china(track.delivered_at),
            "released_at": iso_china(released_at) if released_at else None,
            "list_status": facts.list_status if facts is not None else "",
        },
    )


# --- Unknown waybills -------------------------------------------------------------------------


def unknown_tracks_attach(*, limit: int = 500) -> int:
    """Ask the hub again about unknown tracks not yet expired; those it now knows become known
    (and a delivery they reported is judged). Returns how many were attached."""
    now = timezone.now()
    ids = list(
        WaybillTrack.objects.filter(known=False, expires_at__gt=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    attached = 0
    for track_id in ids:
        with transaction.atomic():
            track = WaybillTrack.objects.select_for_update().filter(pk=track_id, known=False).first()
            if track is None:
                continue
            facts = waybills.waybill_facts(track.logistics_code, track.logistics_no)
            if facts is None:
                continue
            _apply_facts(track, facts, now)
            track.save()
            attached += 1
            if track.delivered_at is not None:
                _judge_delivery(track, now=now)
    return attached


def unknown_tracks_expire(*, limit: int = 1000) -> int:
    """Delete unknown tracks past their expiry, with their events. Returns how many tracks went."""
    now = timezone.now()
    ids = list(
        WaybillTrack.objects.filter(known=False, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    with transaction.atomic():
        # Locked and checked again: a track attached in between keeps its events.
        expired = list(
            WaybillTrack.objects.select_for_update()
            .filter(pk__in=ids, known=False, expires_at__lte=now)
            .values_list("pk", flat=True)
        )
        TrackingEvent.objects.filter(track_id__in=expired).delete()
        WaybillTrack.objects.filter(pk__in=expired).delete()
    return len(expired)
