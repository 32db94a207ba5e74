from __future__ import annotations

import logging

from celery import shared_task

from core.idempotency import idempotency_purge_expired

logger = logging.getLogger(__name__)


@shared_task(name="core.purge_expired_idempotency_records", ignore_result=True)
def purge_expired_idempotency_records() -> int:
    """Delete idempotency records past their 24 hours; safe to run twice."""
    deleted = idempotency_purge_expired()
    logger.info("purged %d expired idempotency records", deleted)
    return deleted
