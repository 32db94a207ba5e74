"""The Celery application.

Delivery is at least once (see the CELERY_ settings): every task must be idempotent. Long
delays, such as retry schedules of hours, live in database rows that a periodic task picks
up, never in countdowns the broker would have to hold.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("single_window")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic task, with its schedule and the reason for it, is declared here and only here.
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Idempotency-Key records are promised for 24 hours; past that they only take space.
    "purge-expired-idempotency-records": {
        "task": "core.purge_expired_idempotency_records",
        "schedule": crontab(minute=17),
    },
}
app.conf.beat_schedule = BEAT_SCHEDULE


@worker_init.connect
def _prepare_filesystem_broker(**_: Any) -> None:
    """The filesystem transport needs its folders before the first poll."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "processed_folder"):
        if key in options:
            Path(options[key]).mkdir(parents=True, exist_ok=True)
