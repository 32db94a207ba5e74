"""What the regulators' groups may do with risk's models in the admin."""

from __future__ import annotations

from single_window.roles import AUDITOR, CUSTOMS_OFFICER, register_regulator_permissions

# What regulators edit: the rules, the watch lists, the restricted goods and the weight norms.
EDITED = ("riskrule", "watchlistentry", "goodsrestriction", "weightnorm")
# What the rules found, and the rules' history.
FOUND = ("riskruleversion", "riskhit", "assessment")


def register() -> None:
    """Called once, from ``RiskConfig.ready``."""
    register_regulator_permissions(
        "risk",
        {
            CUSTOMS_OFFICER: {
                "view": (*EDITED, *FOUND),
                "add": EDITED,
                "change": EDITED,
                "delete": ("watchlistentry",),
            },
            AUDITOR: {"view": (*EDITED, *FOUND)},
        },
    )
