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
    # The outbox relay. Enqueueing kicks it after commit, so this run catches what the kicks
    # miss: retries coming due (their times live in the rows), claims whose worker died (lease
    # expired) and rows committed while the broker was away. Every few seconds keeps the worst
    # case latency small; a run with nothing due is one indexed query. Runs may overlap safely
    # (SKIP LOCKED); expiring keeps a backlog of runs from piling up behind a stopped worker.
    "relay-outbox": {
        "task": "single_window.relay_outbox",
        "schedule": 5.0,
        "options": {"expires": 5.0},
    },
    # The systems that learn from events (credit: customs rejections, risk blocks, matching
    # failures) are handed them here, in order, from a cursor in the database: a run lost to a
    # crash or a broker away is made up by the next. Every few seconds keeps what they know
    # close behind the feed; a run with nothing new is one indexed query per subscriber.
    "run-event-subscriptions": {
        "task": "single_window.run_event_subscriptions",
        "schedule": 5.0,
        "options": {"expires": 5.0},
    },
    # Partners' messages are applied by a task kicked after they are stored; this sweep
    # applies the ones stored while the broker was away or whose worker died.
    "sweep-inbox": {
        "task": "single_window.sweep_inbox",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # A declared list is signed and enqueued right after the transaction that declared it;
    # this catches the ones whose process died in between (a list is never left unsent).
    "dispatch-declared-lists": {
        "task": "declarations.dispatch_sweep",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Export documents are signed and enqueued by a task right after the transaction that
    # declared them; this catches the ones whose task was lost (a broker away, a dead worker).
    "export-dispatch-sweep": {
        "task": "declarations.export_dispatch_sweep",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Health reports workers as down after HEALTH_WORKER_MAX_SILENCE_SECONDS (60) without one
    # of these: a few per minute, so one late or lost beat is not an alarm. It travels beat ->
    # broker -> worker -> database, so its silence stands for any of them being away.
    "record-worker-heartbeat": {
        "task": "core.record_worker_heartbeat",
        "schedule": 15.0,
        "options": {"expires": 15.0},
    },
    # Lists left in send_failed past SEND_FAILED_GIVE_UP_SECONDS give back their buyer's quota
    # and what the systems reserved; hourly is close enough for a limit counted in days.
    "give-up-send-failed-lists": {
        "task": "declarations.send_failed_sweep",
        "schedule": crontab(minute=41),
    },
    # Credit scores decay with the age of what they count, so each is recomputed once a day,
    # at night when the area is quiet. A run does what it can in its time and hands the rest to
    # a run of its own; the hourly repeats until 05:30 finish what a lost run left (a profile
    # computed that day is skipped, so a repeat with nothing left is one indexed query).
    "recompute-credit-scores": {
        "task": "credit.recompute_sweep",
        "schedule": crontab(minute=30, hour="1-5"),
    },
    # Tax bills that arrived before customs' number of their list was known are attached to
    # their lists (and their events published) once it is.
    "link-tax-bills": {
        "task": "finance.bills_link_sweep",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Payment companies' settlement files are kept FINANCE_SETTLEMENT_RETENTION_DAYS (days):
    # once a day is close enough, at night; a run deletes in chunks until none is due.
    "purge-settlement-files": {
        "task": "finance.purge_settlement_files",
        "schedule": crontab(minute=50, hour=3),
    },
    # Export proceeds stored without a rate of their day are converted once one is stored (at
    # once, after the rate's commit); this catches any that moment missed.
    "sweep-export-proceeds": {
        "task": "finance.export_proceeds_sweep",
        "schedule": crontab(minute=10),
    },
    # Lists held by the declare step are judged a last time at their deadline.
    "sweep-held-lists": {
        "task": "declarations.held_sweep",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Tracking events of waybills the single window did not hold yet are attached when the
    # waybill arrives; unknown tracks past LOGISTICS_UNKNOWN_WAYBILL_SECONDS go with their events.
    "logistics-unknown-waybills": {
        "task": "logistics.unknown_waybills_sweep",
        "schedule": 300.0,
        "options": {"expires": 300.0},
    },
    # Waybills silent for longer than the usual time of their status are flagged delayed and
    # their carrier and e-commerce enterprise told; usual times are hours, so minutes are close.
    "logistics-delays": {
        "task": "logistics.delays_sweep",
        "schedule": 300.0,
        "options": {"expires": 300.0},
    },
    # The usual times are learned again from the last 90 days once a night, when it is quiet.
    "logistics-delay-norms": {
        "task": "logistics.delay_norms_recompute",
        "schedule": crontab(minute=20, hour=2),
    },
    # Export summary declarations (CEB701): the previous month's released lists are gathered on
    # EXPORT_SUMMARY_DAY of the month (a setting, so the task runs daily and checks the day);
    # every night it also sends again the summaries that could not leave. A missed 1st is made
    # up by hand (python manage.py export_summaries).
    "export-summaries-monthly": {
        "task": "declarations.export_summaries_monthly",
        "schedule": crontab(minute=10, hour=1),
    },
    # The monitoring's rollups are kept by events; once a night the last days are recomputed
    # from the source tables, a drift report recorded and the rollups corrected (docs/monitoring.md).
    "monitoring-reconcile": {
        "task": "monitoring.reconcile_rollups",
        "schedule": crontab(minute=40, hour=3),
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
