"""Finance's tables, one module per part: customs' tax bills, the guarantors' guarantee accounts
and what each list reserved on them, exchange rates, settlement reconciliation, and the
enterprises' applications for trade financing."""

from __future__ import annotations

from finance.models.bills import TaxBill, TaxBillItem, TaxBillStatus, TaxBillStatusChange
from finance.models.financing import FinancingApplication, FinancingRecordRead, FinancingState
from finance.models.guarantees import (
    GuaranteeAccount,
    GuaranteeCoverage,
    GuaranteeMovement,
    GuaranteeReservation,
    GuaranteeShortfall,
)
from finance.models.proceeds import ExportProceeds
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
    "ExportProceeds",
    "FinancingApplication",
    "FinancingRecordRead",
    "FinancingState",
    "GuaranteeAccount",
    "GuaranteeCoverage",
    "GuaranteeMovement",
    "GuaranteeReservation",
    "GuaranteeShortfall",
    "MismatchKind",
    "SettlementFile",
    "SettlementFormat",
    "SettlementMismatch",
    "SettlementReport",
    "TaxBill",
    "TaxBillItem",
    "TaxBillStatus",
    "TaxBillStatusChange",
]
