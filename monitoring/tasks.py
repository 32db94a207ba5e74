"""Periodic work of the monitoring: the nightly reconciliation of the rollups."""

from __future__ import annotations

import datetime
import logging

from celery import shared_task
from django.conf import settings

from monitoring import reconcile
from monitoring.rollups import today

logger = logging.getLogger(__name__)

RECONCILE_TASK = "monitoring.reconcile_rollups"


@shared_task(name=RECONCILE_TASK, ignore_result=True, soft_time_limit=1800, time_limit=1900)
def reconcile_rollups() -> int:
    """Check and correct the last ``MONITORING_RECONCILE_DAYS`` days up to yesterday (China
    time); idempotent: a second run finds nothing to correct. The rows that differed."""
    yesterday = today() - datetime.timedelta(days=1)
    day_from = yesterday - datetime.timedelta(days=settings.MONITORING_RECONCILE_DAYS - 1)
    report = reconcile.figures_reconcile(day_from=day_from, day_to=yesterday, correct=True)
    logger.info("monitoring: %s rollup rows checked, %s differed", report.rows_checked, report.rows_differing)
    return report.rows_differing
