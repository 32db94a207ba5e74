from __future__ import annotations

import logging
import socket
from typing import Any

from celery import shared_task

from core.health import heartbeat_record
from core.idempotency import idempotency_purge_expired

logger = logging.getLogger(__name__)


@shared_task(name="core.purge_expired_idempotency_records", ignore_result=True)
def purge_expired_idempotency_records() -> int:
    """Delete idempotency records past their 24 hours; safe to run twice."""
    deleted = idempotency_purge_expired()
    logger.info("purged %d expired idempotency records", deleted)
    return deleted


@shared_task(name="core.record_worker_heartbeat", bind=True, ignore_result=True)
def record_worker_heartbeat(self: Any) -> None:
    """This worker is alive (health reads it); one row per worker, so running twice is harmless."""
    heartbeat_record(name=self.request.hostname or socket.gethostname())
