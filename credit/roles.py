"""What the regulators' groups may do with credit's models in the admin.

Customs officers keep the customs classes and record customs' decisions; both customs and the
commerce bureau record penalties, commendations and certifications; the commerce bureau, which
runs the pilot area's grading, may override a grade. Auditors read everything. The view
permission on profiles is also what a regulator's API key needs to read a credit report.
"""

from __future__ import annotations

from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER, register_regulator_permissions

ALL_MODELS = (
    "customsclass",
    "customsclassdecision",
    "creditprofile",
    "creditscore",
    "creditevent",
    "creditvolume",
    "creditgradeoverride",
    "creditconsent",
    "creditreportread",
)


def register() -> None:
    """Called once, from ``CreditConfig.ready``."""
    register_regulator_permissions(
        "credit",
        {
            CUSTOMS_OFFICER: {
                "view": ALL_MODELS,
                "add": ("customsclass", "customsclassdecision", "creditevent"),
                "change": ("customsclass", "customsclassdecision", "creditevent"),
            },
            COMMERCE_BUREAU: {
                "view": ALL_MODELS,
                "add": ("creditevent", "creditgradeoverride"),
                "change": ("creditevent", "creditgradeoverride"),
            },
            AUDITOR: {"view": ALL_MODELS},
        },
    )
