"""What the regulators' groups may do with logistics' models in the admin.

Bonded stock is read by everyone in the regulators' groups and written by nobody there: the
warehouse operators' receipts and the declare step write it.
"""

from __future__ import annotations

from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER, register_regulator_permissions

STOCK_READ = (
    "stockaccountbook",
    "stockitem",
    "stockreservation",
    "stockshortfall",
    "stockmovement",
    "stockreceipt",
    "stockreceiptline",
)
READ = STOCK_READ


def register() -> None:
    """Called once, from ``LogisticsConfig.ready``."""
    register_regulator_permissions(
        "logistics",
        {
            CUSTOMS_OFFICER: {"view": READ},
            COMMERCE_BUREAU: {"view": READ},
            AUDITOR: {"view": READ},
        },
    )
