"""What the regulators' groups may do with finance's models in the admin.

Customs officers keep the guarantee accounts (amounts are changed through the account's page,
with a reason) and the cover ratios; everyone in the regulators' groups reads the bills, the
reservations, the shortfalls, the ledger, and the financing applications with the reads of
their applicants' records. Bills and their status come from customs only; applications from
the enterprises.
"""

from __future__ import annotations

from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER, register_regulator_permissions

READ = (
    "taxbill",
    "taxbillitem",
    "taxbillstatuschange",
    "guaranteeaccount",
    "guaranteecoverage",
    "guaranteereservation",
    "guaranteeshortfall",
    "guaranteemovement",
    "financingapplication",
    "financingrecordread",
)


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_regulator_permissions(
        "finance",
        {
            CUSTOMS_OFFICER: {
                "view": READ,
                "add": ("guaranteeaccount", "guaranteecoverage"),
                "change": ("guaranteeaccount", "guaranteecoverage"),
            },
            COMMERCE_BUREAU: {"view": READ},
            AUDITOR: {"view": READ},
        },
    )
