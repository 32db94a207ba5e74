"""Periodic work of logistics (the schedule is in ``config/celery.py``)."""

from __future__ import annotations

import logging

from celery import shared_task

from logistics import delays, tracking

logger = logging.getLogger(__name__)

UNKNOWN_TASK = "logistics.unknown_waybills_sweep"
DELAYS_TASK = "logistics.delays_sweep"
NORMS_TASK = "logistics.delay_norms_recompute"


@shared_task(name=UNKNOWN_TASK, ignore_result=True)
def unknown_waybills_sweep() -> dict[str, int]:
    """Attach the tracks whose waybill the single window now holds; delete the expired ones."""
    attached = tracking.unknown_tracks_attach()
    expired = tracking.unknown_tracks_expire()
    if attached or expired:
        logger.info("logistics: %d unknown waybills attached, %d expired", attached, expired)
    return {"attached": attached, "expired": expired}


@shared_task(name=DELAYS_TASK, ignore_result=True)
def delays_sweep() -> int:
    """Flag the waybills silent for longer than the usual time of their status."""
    flagged = delays.delays_sweep()
    if flagged:
        logger.info("logistics: %d waybills flagged delayed", len(flagged))
    return len(flagged)


@shared_task(name=NORMS_TASK, ignore_result=True)
def delay_norms_recompute() -> int:
    """Learn the usual times again from the last 90 days."""
    return delays.norms_recompute()
