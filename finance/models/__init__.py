"""Finance's own tables: customs' tax bills, the guarantors' guarantee accounts, and what
each list reserved on them."""

from __future__ import annotations

from finance.models.bills import TaxBill, TaxBillItem, TaxBillStatus, TaxBillStatusChange
from finance.models.guarantees import (
    GuaranteeAccount,
    GuaranteeCoverage,
    GuaranteeMovement,
    GuaranteeReservation,
    GuaranteeShortfall,
)

__all__ = [
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
