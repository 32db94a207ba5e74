"""Periodic work of finance: tax bills attached to their lists, uploaded settlement files deleted
after their retention period, export proceeds converted once their day has a rate."""

from __future__ import annotations

import logging

from celery import shared_task

from finance import bills, proceeds, settlements

logger = logging.getLogger(__name__)

LINK_TASK = "finance.bills_link_sweep"
PURGE_SETTLEMENT_FILES_TASK = "finance.purge_settlement_files"
PROCEEDS_SWEEP_TASK = "finance.export_proceeds_sweep"
# Files deleted per transaction; a run goes on until none is due.
PURGE_CHUNK = 500


@shared_task(name=LINK_TASK, ignore_result=True)
def bills_link_sweep() -> int:
    """Attach the tax bills that arrived before their list's customs number was known."""
    linked = bills.bills_link_sweep()
    if linked:
        logger.info("finance: %d tax bills attached to their lists", linked)
    return linked


@shared_task(name=PURGE_SETTLEMENT_FILES_TASK, ignore_result=True)
def purge_settlement_files() -> int:
    """Delete the settlement files older than ``FINANCE_SETTLEMENT_RETENTION_DAYS``; the reports
    stay. Idempotent: a deleted file is not found again, so a run twice deletes nothing more."""
    total = 0
    while True:
        deleted = settlements.settlement_files_purge(limit=PURGE_CHUNK)
        total += deleted
        if deleted < PURGE_CHUNK:
            break
    if total:
        logger.info("finance: %d settlement files past retention deleted", total)
    return total


@shared_task(name=PROCEEDS_SWEEP_TASK, ignore_result=True)
def export_proceeds_sweep() -> int:
    """Convert the export proceeds stored without a rate whose day now has one (a rate stored
    converts them at once; this catches any the moment missed)."""
    converted = proceeds.proceeds_sweep()
    if converted:
        logger.info("finance: %d export proceeds converted", converted)
    return converted
