"""What the regulators' groups may do with logistics' models in the admin: everyone in the
three groups reads the tracks, their events and the delay norms (carriers write them), and the
bonded stock (the warehouse operators' receipts and the declare step write it)."""

from __future__ import annotations

from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER, register_regulator_permissions

TRACKING_READ = ("waybilltrack", "trackingevent", "delaynorm")
STOCK_READ = (
    "stockaccountbook",
    "stockitem",
    "stockreservation",
    "stockshortfall",
    "stockmovement",
    "stockreceipt",
    "stockreceiptline",
)
READ = (*TRACKING_READ, *STOCK_READ)


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
