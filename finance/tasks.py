"""Periodic work of finance: tax bills attached to their lists, uploaded settlement files deleted
after their retention period."""

from __future__ import annotations

import logging

from celery import shared_task

from finance import bills, settlements

logger = logging.getLogger(__name__)

LINK_TASK = "finance.bills_link_sweep"
PURGE_SETTLEMENT_FILES_TASK = "finance.purge_settlement_files"
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
