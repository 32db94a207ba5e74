"""What the regulators' groups may do with finance's models in the admin.

Customs officers keep the guarantee accounts (amounts are changed through the account's page,
with a reason), the cover ratios and the exchange rates (customs converts declared values at
them); every group reads the bills, the reservations, the shortfalls and the ledger, the rates
and the sellers' export proceeds. The commerce bureau, which supervises the area's payment
companies, and auditors read the settlement reports; nobody edits a report. Every group also
reads the financing applications with the reads of their applicants' records. Bills and their status come from
customs only; applications from the enterprises.
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
    "exportproceeds",
)
RATES = ("exchangerate",)
SETTLEMENTS = ("settlementreport", "settlementmismatch")


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_regulator_permissions(
        "finance",
        {
            CUSTOMS_OFFICER: {
                "view": (*READ, *RATES),
                "add": ("guaranteeaccount", "guaranteecoverage", *RATES),
                "change": ("guaranteeaccount", "guaranteecoverage", *RATES),
            },
            COMMERCE_BUREAU: {"view": (*READ, *RATES, *SETTLEMENTS)},
            AUDITOR: {"view": (*READ, *RATES, *SETTLEMENTS)},
        },
    )
