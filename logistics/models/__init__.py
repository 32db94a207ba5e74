"""Logistics' tables, one module per part (``stock``: bonded warehouse stock for 1210 lists)."""

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

__all__ = [
    "StockAccountBook",
    "StockItem",
    "StockMovement",
    "StockReceipt",
    "StockReceiptLine",
    "StockReservation",
    "StockShortfall",
]
