"""What the regulators' groups may do with finance's models in the admin.

Customs officers keep the exchange rates (customs converts declared values at them); the
commerce bureau and auditors read them. The commerce bureau, which supervises the area's
payment companies, and auditors read the settlement reports; nobody edits a report.
"""

from __future__ import annotations

from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER, register_regulator_permissions

RATES = ("exchangerate",)
SETTLEMENTS = ("settlementreport", "settlementmismatch")


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_regulator_permissions(
        "finance",
        {
            CUSTOMS_OFFICER: {"view": RATES, "add": RATES, "change": RATES},
            COMMERCE_BUREAU: {"view": (*RATES, *SETTLEMENTS)},
            AUDITOR: {"view": (*RATES, *SETTLEMENTS)},
        },
    )
