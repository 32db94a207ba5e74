"""Periodic work of the declarations: packing documents for customs, documents whose dispatch
did not run, held lists due."""

from __future__ import annotations

import logging

from celery import shared_task

from declarations.clearance import declare
from declarations.customs import gateway

logger = logging.getLogger(__name__)


@shared_task(name=gateway.PACK_TASK, ignore_result=True)
def customs_pack(*, kind: str, group: str) -> int:
    """Pack the marked documents of one declarant and type into signed messages for customs
    (scheduled by ``gateway.pack_soon`` a short window after they were declared)."""
    return gateway.documents_pack(kind=kind, group=group, rounds=gateway.PACK_ROUNDS)


@shared_task(name="declarations.dispatch_sweep", ignore_result=True)
def dispatch_sweep() -> int:
    """Sign and send the documents left marked by a crash, a lost worker or a broker away."""
    sent = gateway.dispatch_sweep()
    if sent:
        logger.info("dispatch sweep: %d documents", sent)
    return sent


@shared_task(name="declarations.held_sweep", ignore_result=True)
def held_sweep() -> int:
    """Judge again the held lists whose deadline has passed; still waiting, they fail."""
    return declare.held_sweep()


@shared_task(name="declarations.send_failed_sweep", ignore_result=True)
def send_failed_sweep() -> int:
    """Release the quota and reservations of lists given up in send_failed."""
    return declare.send_failed_sweep()
