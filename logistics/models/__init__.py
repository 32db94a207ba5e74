"""Logistics' own tables: carriers' tracking events and their waybills' tracks, and the usual
times learned from them."""

from __future__ import annotations

from logistics.models.tracking import (
    DelayNorm,
    DeliveryNoticeState,
    EventSource,
    TrackingEvent,
    TrackingStatus,
    TransportMode,
    WaybillTrack,
)

__all__ = [
    "DelayNorm",
    "DeliveryNoticeState",
    "EventSource",
    "TrackingEvent",
    "TrackingStatus",
    "TransportMode",
    "WaybillTrack",
]
