"""Periodic work of the credit system: scores recomputed nightly, so that old events weigh less."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from kombu.exceptions import OperationalError

from credit import services

logger = logging.getLogger(__name__)

RECOMPUTE_TASK = "credit.recompute_sweep"
# Profiles recomputed per transaction-sized step, and how long one run keeps going (below the
# tasks' soft time limit) before it hands the rest to a run of its own.
RECOMPUTE_CHUNK = 100
RECOMPUTE_RUN_SECONDS = 40.0


@shared_task(name=RECOMPUTE_TASK, ignore_result=True)
def recompute_sweep() -> int:
    """Recompute every profile not yet computed today (and make those of new enterprises).

    Resumable: a profile computed today is skipped, so a run cut short, a follow-up run lost
    with the broker, or the next scheduled run picks up where the last one stopped.
    """
    deadline = time.monotonic() + RECOMPUTE_RUN_SECONDS
    total = 0
    while time.monotonic() < deadline:
        done = services.credit_profiles_recompute_due(limit=RECOMPUTE_CHUNK)
        total += done
        if done < RECOMPUTE_CHUNK:
            logger.info("credit: %d profiles recomputed; none left for today", total)
            return total
    try:
        recompute_sweep.apply_async()
    except OperationalError:  # the broker away: the next scheduled run carries on
        logger.warning("credit: %d profiles recomputed; the rest waits for the next scheduled run", total)
    else:
        logger.info("credit: %d profiles recomputed; the rest goes on in a new run", total)
    return total
