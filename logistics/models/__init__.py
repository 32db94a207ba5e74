"""Logistics' own tables, one module per part: carriers' tracking events, their waybills'
tracks and the usual times learned from them (``tracking``); bonded warehouse stock for 1210
lists (``stock``)."""

from __future__ import annotations

from logistics.models.stock import (
    StockAccountBook,
    StockItem,
    StockMovement,
    StockReceipt,
    StockReceiptLine,
    StockReservation,
    StockShortfall,
)
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
    "StockAccountBook",
    "StockItem",
    "StockMovement",
    "StockReceipt",
    "StockReceiptLine",
    "StockReservation",
    "StockShortfall",
    "TrackingEvent",
    "TrackingStatus",
    "TransportMode",
    "WaybillTrack",
]
