"""Periodic work of finance."""

from __future__ import annotations

import logging

from celery import shared_task

from finance import bills

logger = logging.getLogger(__name__)

LINK_TASK = "finance.bills_link_sweep"


@shared_task(name=LINK_TASK, ignore_result=True)
def bills_link_sweep() -> int:
    """Attach the tax bills that arrived before their list's customs number was known."""
    linked = bills.bills_link_sweep()
    if linked:
        logger.info("finance: %d tax bills attached to their lists", linked)
    return linked
