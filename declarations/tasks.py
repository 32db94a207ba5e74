"""Periodic work of the declarations: lists whose dispatch did not run, held lists due."""

from __future__ import annotations

import logging

from celery import shared_task

from declarations.clearance import declare

logger = logging.getLogger(__name__)


@shared_task(name="declarations.dispatch_sweep", ignore_result=True)
def dispatch_sweep() -> int:
    """Sign and send the declared lists left marked by a crash or a lost worker."""
    sent = declare.dispatch_sweep()
    if sent:
        logger.info("dispatch sweep: %d lists", sent)
    return sent


@shared_task(name="declarations.held_sweep", ignore_result=True)
def held_sweep() -> int:
    """Judge again the held lists whose deadline has passed; still waiting, they fail."""
    return declare.held_sweep()


@shared_task(name="declarations.send_failed_sweep", ignore_result=True)
def send_failed_sweep() -> int:
    """Release the quota and reservations of lists given up in send_failed."""
    return declare.send_failed_sweep()
