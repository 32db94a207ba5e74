"""Finance's tables, one module per part (exchange rates, settlement reconciliation)."""

from __future__ import annotations

from finance.models.rates import ExchangeRate
from finance.models.settlements import (
    MismatchKind,
    SettlementFile,
    SettlementFormat,
    SettlementMismatch,
    SettlementReport,
)

__all__ = [
    "ExchangeRate",
    "MismatchKind",
    "SettlementFile",
    "SettlementFormat",
    "SettlementMismatch",
    "SettlementReport",
]
