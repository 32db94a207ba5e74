"""Delays: a waybill with no tracking event for longer than the usual time of its status.

**The usual time** of a status on a carrier's route (transport mode + leg) is learned from
history: the p90 of the time from an event of that status to the next event of the same
waybill, over the last ``LOGISTICS_DELAY_HISTORY_DAYS`` (90) days, recomputed nightly into
``DelayNorm`` (``norms_recompute``). A norm counting fewer than ``LOGISTICS_DELAY_MIN_SAMPLES``
(20) samples is not trusted: the default of the status (``DEFAULT_SECONDS``) is used instead.

**Flagging** (``delays_sweep``, every few minutes): a known, undelivered track whose current
status is older than its usual time is flagged ``delayed`` (once: a compare-and-swap on the
status it was judged at), and the carrier and the parcel's e-commerce enterprise hear
``logistics.waybill_delayed``. Any new event of the waybill clears the flag
(``tracking.event_store``). Unknown waybills are not judged: nobody but the carrier could act.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import Lead
from django.utils import timezone

from core.times import iso_china
from logistics import event_types
from logistics.models import DelayNorm, TrackingEvent, TrackingStatus, WaybillTrack
from logistics.tracking import publish

HOUR = 3600
# The usual time of a status when its carrier and route have too little history. A delivered
# parcel is never late; an exception waits for the carrier's next word a day.
DEFAULT_SECONDS: dict[str, int] = {
    TrackingStatus.PICKED_UP: 24 * HOUR,
    TrackingStatus.DEPARTED: 72 * HOUR,
    TrackingStatus.ARRIVED_HUB: 24 * HOUR,
    TrackingStatus.AT_CUSTOMS: 48 * HOUR,
    TrackingStatus.RELEASED: 24 * HOUR,
    TrackingStatus.OUT_FOR_DELIVERY: 12 * HOUR,
    TrackingStatus.EXCEPTION: 24 * HOUR,
}

NormKey = tuple[str, str, int, str]  # logistics_code, transport_mode, leg, status


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (not empty), ``share`` in (0, 1]."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# --- Norms ------------------------------------------------------------------------------------


def gaps_since(since: datetime.datetime) -> Iterable[tuple[NormKey, float]]:
    """Each event since ``since`` with the seconds to the next event of the same waybill (the
    last event of a waybill has none and counts nothing)."""
    rows = (
        TrackingEvent.objects.filter(occurred_at__gte=since)
        .annotate(
            next_at=Window(Lead("occurred_at"), partition_by=[F("track_id")], order_by=[F("occurred_at"), F("id")])
        )
        .values_list("logistics_code", "transport_mode", "leg", "status", "occurred_at", "next_at")
    )
    for code, mode, leg, status, occurred_at, next_at in rows.iterator(chunk_size=5000):
        if next_at is not None:
            yield (code, mode, leg, status), (next_at - occurred_at).total_seconds()


def norms_recompute(*, now: datetime.datetime | None = None) -> int:
    """Recompute every ``DelayNorm`` from the last ``LOGISTICS_DELAY_HISTORY_DAYS``; norms of
    routes without history are dropped. Returns how many norms there are now."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=settings.LOGISTICS_DELAY_HISTORY_DAYS)
    samples: dict[NormKey, list[float]] = defaultdict(list)
    for key, seconds in gaps_since(since):
        samples[key].append(seconds)
    norms = [
        DelayNorm(
            logistics_code=code,
            transport_mode=mode,
            leg=leg,
            status=status,
            seconds=max(1, math.ceil(percentile(values, 0.9))),
            samples=len(values),
            computed_at=now,
        )
        for (code, mode, leg, status), values in samples.items()
    ]
    with transaction.atomic():
        DelayNorm.objects.all().delete()
        DelayNorm.objects.bulk_create(norms, batch_size=1000)
    return len(norms)


def usual_seconds(*, logistics_code: str, transport_mode: str, leg: int, status: str) -> int | None:
    """The usual time of ``status`` on this carrier's route: its learned norm when it has
    enough samples, else the status's default; None for a status that is never late."""
    norm = (
        DelayNorm.objects.filter(
            logistics_code=logistics_code,
            transport_mode=transport_mode,
            leg=leg,
            status=status,
            samples__gte=settings.LOGISTICS_DELAY_MIN_SAMPLES,
        )
        .values_list("seconds", flat=True)
        .first()
    )
    if norm is not None:
        return int(norm)
    return DEFAULT_SECONDS.get(status)


# --- Flagging ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flagged:
    track_id: int
    usual_seconds: int


def _shortest_usual() -> int:
    learned = (
        DelayNorm.objects.filter(samples__gte=settings.LOGISTICS_DELAY_MIN_SAMPLES)
        .order_by("seconds")
        .values_list("seconds", flat=True)
        .first()
    )
    return min([*DEFAULT_SECONDS.values(), *([learned] if learned is not None else [])])


def delays_sweep(*, now: datetime.datetime | None = None, limit: int = 5000) -> list[Flagged]:
    """Flag the known, undelivered tracks whose current status is older than its usual time,
    and tell their carrier and e-commerce enterprise. Returns the tracks flagged now."""
    now = now or timezone.now()
    # No status is late sooner than the shortest usual time: older candidates only.
    candidates = (
        WaybillTrack.objects.filter(
            known=True,
            delayed=False,
            delivered_at__isnull=True,
            current_at__lte=now - datetime.timedelta(seconds=_shortest_usual()),
        )
        .exclude(current_status__in=[TrackingStatus.DELIVERED, ""])
        .order_by("current_at")
        .values_list("pk", "logistics_code", "current_mode", "current_leg", "current_status", "current_at")[:limit]
    )
    flagged: list[Flagged] = []
    for track_id, code, mode, leg, status, current_at in candidates:
        if current_at is None:
            continue
        usual = usual_seconds(logistics_code=code, transport_mode=mode, leg=leg or 1, status=status)
        if usual is None or current_at + datetime.timedelta(seconds=usual) > now:
            continue
        with transaction.atomic():
            # Only if nothing arrived since it was read: a new event would have cleared it anyway.
            changed = WaybillTrack.objects.filter(
                pk=track_id, delayed=False, current_at=current_at, delivered_at__isnull=True
            ).update(delayed=True, delayed_since=now, delays=F("delays") + 1, updated_at=now)
            if not changed:
                continue
            track = WaybillTrack.objects.get(pk=track_id)
            publish(
                track,
                event_types.WAYBILL_DELAYED,
                {
                    "delayed_since": iso_china(now),
                    "usual_seconds": usual,
                    "silent_seconds": int((now - current_at).total_seconds()),
                },
            )
        flagged.append(Flagged(track_id=track_id, usual_seconds=usual))
    return flagged
