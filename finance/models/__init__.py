"""Finance's own tables: customs' tax bills, the guarantors' guarantee accounts, what each
list reserved on them, and the enterprises' applications for trade financing."""

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

__all__ = [
    "FinancingApplication",
    "FinancingRecordRead",
    "FinancingState",
    "GuaranteeAccount",
    "GuaranteeCoverage",
    "GuaranteeMovement",
    "GuaranteeReservation",
    "GuaranteeShortfall",
    "TaxBill",
    "TaxBillItem",
    "TaxBillStatus",
    "TaxBillStatusChange",
]
