"""Periodic work of the declarations: packing documents for customs, documents whose dispatch
did not run, held lists due."""

from __future__ import annotations

import logging

from celery import shared_task

from declarations.clearance import declare
from declarations.customs import gateway
from declarations.export import gateway as export_gateway
from declarations.export import summaries as export_summaries

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


# --- Export documents -----------------------------------------------------------------------------


@shared_task(name=export_gateway.DISPATCH_TASK, ignore_result=True, soft_time_limit=60, time_limit=90)
def export_dispatch(*, kind: str, document_id: int) -> bool:
    """Sign and enqueue one marked export document (scheduled after the commit that declared it)."""
    return export_gateway.export_dispatch(kind=kind, document_id=document_id) is not None


@shared_task(name="declarations.export_dispatch_sweep", ignore_result=True)
def export_dispatch_sweep() -> int:
    """Sign and send the export documents left marked by a lost task or a broker away."""
    sent = export_gateway.export_dispatch_sweep()
    if sent:
        logger.info("export dispatch sweep: %d documents", sent)
    return sent


# --- Export summary declarations ------------------------------------------------------------------


@shared_task(name="declarations.export_summaries_monthly", ignore_result=True, soft_time_limit=1800, time_limit=1900)
def export_summaries_monthly() -> int:
    """Send again the summaries left in ``send_failed``; on ``EXPORT_SUMMARY_DAY`` (China
    Standard Time), assemble and send every consignor's summaries of the previous month.
    Idempotent: lists already summarised are not taken again, so a second run the same day
    assembles nothing."""
    return len(export_summaries.monthly_run())
