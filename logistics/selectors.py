"""What other systems, the parcel trace and monitoring may read of logistics.

- ``timeline_of``: a waybill's tracking events in time order with what they add up to;
- ``leg_times``: time per leg, by carrier, transport mode and leg (median, p90);
- ``journey_times``: door-to-door time per route (first event to delivery), by carrier and
  transport mode (median, p90);
- ``delay_shares``: the share of waybills ever flagged delayed, by carrier and transport mode.

The monitoring figures count the waybills whose first event falls in ``[since, until)``.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from logistics.delays import median, percentile
from logistics.models import TrackingEvent, TrackingStatus, WaybillTrack


@dataclass(frozen=True)
class TimelineEvent:
    status: str
    place: str
    occurred_at: datetime.datetime
    transport_mode: str
    leg: int
    source: str
    received_at: datetime.datetime


@dataclass(frozen=True)
class Timeline:
    logistics_code: str
    logistics_no: str
    known: bool
    ebp_code: str
    order_no: str
    ebc_code: str
    agent_code: str
    current_status: str
    current_leg: int | None
    current_mode: str
    status_since: datetime.datetime | None
    delayed: bool
    delayed_since: datetime.datetime | None
    delivered_at: datetime.datetime | None
    delivery_notice: str
    delivered_before_release: bool
    events: tuple[TimelineEvent, ...]


def track_get(*, logistics_code: str, logistics_no: str) -> WaybillTrack | None:
    return WaybillTrack.objects.filter(logistics_code=logistics_code, logistics_no=logistics_no).first()


def timeline_of(logistics_code: str, logistics_no: str) -> Timeline | None:
    """The waybill's timeline; None when no carrier reported on it (or its unknown track expired)."""
    track = track_get(logistics_code=logistics_code, logistics_no=logistics_no)
    if track is None:
        return None
    events = tuple(
        TimelineEvent(
            status=event.status,
            place=event.place,
            occurred_at=event.occurred_at,
            transport_mode=event.transport_mode,
            leg=event.leg,
            source=event.source,
            received_at=event.received_at,
        )
        for event in track.events.order_by("occurred_at", "leg", "id")
    )
    return Timeline(
        logistics_code=track.logistics_code,
        logistics_no=track.logistics_no,
        known=track.known,
        ebp_code=track.ebp_code,
        order_no=track.order_no,
        ebc_code=track.ebc_code,
        agent_code=track.agent_code,
        current_status=track.current_status,
        current_leg=track.current_leg,
        current_mode=track.current_mode,
        status_since=track.current_at,
        delayed=track.delayed,
        delayed_since=track.delayed_since,
        delivered_at=track.delivered_at,
        delivery_notice=track.delivery_notice,
        delivered_before_release=track.delivered_before_release,
        events=events,
    )


# --- Monitoring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Durations:
    """Durations in seconds of one group."""

    logistics_code: str
    transport_mode: str
    leg: int | None  # None: the whole journey
    count: int
    median_seconds: float
    p90_seconds: float


@dataclass(frozen=True)
class DelayShare:
    logistics_code: str
    transport_mode: str
    waybills: int
    delayed: int

    @property
    def share(self) -> float:
        return self.delayed / self.waybills if self.waybills else 0.0


def _tracks(since: datetime.datetime, until: datetime.datetime, logistics_code: str | None) -> QuerySet[WaybillTrack]:
    tracks = WaybillTrack.objects.filter(first_event_at__gte=since, first_event_at__lt=until)
    return tracks.filter(logistics_code=logistics_code) if logistics_code else tracks


def _summary(groups: dict[tuple[str, str, int | None], list[float]]) -> list[Durations]:
    return [
        Durations(
            logistics_code=code,
            transport_mode=mode,
            leg=leg,
            count=len(values),
            median_seconds=median(values),
            p90_seconds=percentile(values, 0.9),
        )
        for (code, mode, leg), values in sorted(
            groups.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)
        )
    ]


def leg_times(
    *, since: datetime.datetime, until: datetime.datetime, logistics_code: str | None = None
) -> list[Durations]:
    """Time on each leg: from the leg's first event to the next leg's first event, or to the
    delivery for the leg that ends in one; a leg still under way counts nothing. Grouped by
    carrier, the leg's transport mode (of its first event) and leg number."""
    events = (
        TrackingEvent.objects.filter(track__in=_tracks(since, until, logistics_code))
        .order_by("track_id", "occurred_at", "id")
        .values_list("track_id", "logistics_code", "transport_mode", "leg", "status", "occurred_at")
    )
    groups: dict[tuple[str, str, int | None], list[float]] = defaultdict(list)
    by_track: dict[int, list[tuple[str, str, int, str, datetime.datetime]]] = defaultdict(list)
    for track_id, code, mode, leg, status, occurred_at in events.iterator(chunk_size=5000):
        by_track[track_id].append((code, mode, leg, status, occurred_at))
    for rows in by_track.values():
        # Each leg's first event, in time order: (leg, mode, start).
        starts: dict[int, tuple[str, datetime.datetime]] = {}
        delivered: datetime.datetime | None = None
        for _code, mode, leg, status, occurred_at in rows:
            starts.setdefault(leg, (mode, occurred_at))
            if status == TrackingStatus.DELIVERED and delivered is None:
                delivered = occurred_at
        legs = sorted(starts.items(), key=lambda item: item[1][1])
        code = rows[0][0]
        for index, (leg, (mode, start)) in enumerate(legs):
            end = legs[index + 1][1][1] if index + 1 < len(legs) else delivered
            if end is not None and end >= start:
                groups[(code, mode, leg)].append((end - start).total_seconds())
    return _summary(groups)


def journey_times(
    *, since: datetime.datetime, until: datetime.datetime, logistics_code: str | None = None
) -> list[Durations]:
    """Door to door, first event to delivery, of the delivered waybills; by carrier and the
    transport mode of the last leg."""
    rows = (
        _tracks(since, until, logistics_code)
        .filter(delivered_at__isnull=False)
        .values_list("logistics_code", "current_mode", "first_event_at", "delivered_at")
    )
    groups: dict[tuple[str, str, int | None], list[float]] = defaultdict(list)
    for code, mode, first, delivered in rows.iterator(chunk_size=5000):
        if first is None or delivered is None:
            continue
        groups[(code, mode, None)].append((delivered - first).total_seconds())
    return _summary(groups)


def delay_shares(
    *, since: datetime.datetime, until: datetime.datetime, logistics_code: str | None = None
) -> list[DelayShare]:
    """The waybills and how many of them were ever flagged delayed, by carrier and current mode."""
    rows = (
        _tracks(since, until, logistics_code)
        .filter(known=True)
        .values("logistics_code", "current_mode")
        .annotate(waybills=Count("id"), delayed=Count("id", filter=Q(delays__gt=0)))
        .order_by("logistics_code", "current_mode")
    )
    return [
        DelayShare(
            logistics_code=row["logistics_code"],
            transport_mode=row["current_mode"],
            waybills=row["waybills"],
            delayed=row["delayed"],
        )
        for row in rows
    ]
