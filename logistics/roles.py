"""What the regulators' groups may do with logistics' models in the admin: everyone in the
three groups reads the tracks, their events and the delay norms; carriers write them."""

from __future__ import annotations

from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER, register_regulator_permissions

READ = ("waybilltrack", "trackingevent", "delaynorm")


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
