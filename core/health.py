"""Readiness of the services the API depends on, each reported on its own.

The contract of ``GET /api/v1/health`` (``health_report``):

- ``ok``, 200: every check is ok.
- ``degraded``, 200: the database answers but something else does not: the broker, the cache
  (Redis), the workers (no heartbeat for ``HEALTH_WORKER_MAX_SILENCE_SECONDS``) or a check an
  app registered (the outbox: a message due for over ``HEALTH_OUTBOX_MAX_AGE_SECONDS``). The
  API still takes documents and receipts (they are stored in the database and sent once the
  rest is back), so a load balancer must keep the instance in rotation; the failing check
  says why in its ``error``.
- ``down``, 503: the database does not answer; nothing can be served.

Checks other apps add (``register_check``) are never critical: the core knows no app, and
only the database stops every request.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from kombu import Connection

from core.models import WorkerHeartbeat

BROKER_TIMEOUT_SECONDS = 2.0

OK, DEGRADED, DOWN = "ok", "degraded", "down"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    latency_ms: float
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"status": "ok" if self.ok else "down", "latency_ms": round(self.latency_ms, 1)}
        if self.error:
            data["error"] = self.error
        return data


class Unhealthy(Exception):
    """Raised by a probe that reached its service and found it wrong; the message is the reason."""


def timed(check: Callable[[], object]) -> CheckResult:
    """Run a probe: ok when it returns; down, with why, when it raises.

    ``Unhealthy`` gives its message (a reason for an operator); anything else its class name
    (``OperationalError``), which says why without leaking addresses or credentials.
    """
    started = time.perf_counter()
    try:
        check()
    except Unhealthy as exc:
        return CheckResult(False, (time.perf_counter() - started) * 1000, str(exc))
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the class name tells an operator why
        return CheckResult(False, (time.perf_counter() - started) * 1000, type(exc).__name__)
    return CheckResult(True, (time.perf_counter() - started) * 1000)


def check_database() -> CheckResult:
    def probe() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return timed(probe)


def check_broker() -> CheckResult:
    url: str = settings.CELERY_BROKER_URL
    options: dict[str, object] = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)

    def probe() -> None:
        if url.startswith("filesystem://"):
            folder = Path(str(options["data_folder_in"]))
            if not folder.is_dir():
                raise FileNotFoundError(folder)
            return
        with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=options) as conn:
            # One quick retry, no back-off: kombu sleeps 2 s between attempts by default, and
            # a readiness probe must answer well within its own timeout when the broker is gone.
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=int(BROKER_TIMEOUT_SECONDS))
            conn.default_channel.client.ping()  # type: ignore[attr-defined]

    return timed(probe)


def check_cache() -> CheckResult:
    """Write and read back a key of its own: throttling counts in the cache."""

    def probe() -> None:
        key, value = f"health:{uuid.uuid4().hex}", "1"
        cache.set(key, value, timeout=10)
        if cache.get(key) != value:
            raise Unhealthy("the cache did not keep a value")
        cache.delete(key)

    return timed(probe)


def heartbeat_record(*, name: str) -> None:
    """A worker is alive: called by the periodic heartbeat task on the worker that ran it.

    In the database, not Redis, so it outlives a Redis outage to report it. Idempotent.
    """
    WorkerHeartbeat.objects.update_or_create(name=name[:200], defaults={"beat_at": timezone.now()})


def check_worker() -> CheckResult:
    """The newest heartbeat of any worker is recent. Beat sends the task every few seconds
    (config/celery.py), so silence means no beat, no broker or no worker."""
    limit = int(settings.HEALTH_WORKER_MAX_SILENCE_SECONDS)

    def probe() -> None:
        newest = WorkerHeartbeat.objects.aggregate(newest=Max("beat_at"))["newest"]
        if newest is None:
            raise Unhealthy("no worker heartbeat recorded yet")
        silence = timezone.now() - newest
        if silence > datetime.timedelta(seconds=limit):
            raise Unhealthy(f"no worker heartbeat for {int(silence.total_seconds())} s (limit {limit} s)")

    return timed(probe)


# --- Checks other apps add -----------------------------------------------------------------

_REGISTERED: dict[str, Callable[[], CheckResult]] = {}
CORE_CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
    "worker": check_worker,
}


def register_check(name: str, check: Callable[[], CheckResult]) -> None:
    """Add a non-critical check (called from an app's ``ready``); a name is taken once."""
    if name in CORE_CHECKS or name in _REGISTERED:
        msg = f"the health check {name!r} is already registered"
        raise ImproperlyConfigured(msg)
    _REGISTERED[name] = check


def health_report() -> tuple[int, dict[str, object]]:
    """The HTTP status and the body of the health answer (see the module's docstring)."""
    results = {name: check() for name, check in (CORE_CHECKS | _REGISTERED).items()}
    if not results["database"].ok:
        status, code = DOWN, 503
    elif all(result.ok for result in results.values()):
        status, code = OK, 200
    else:
        status, code = DEGRADED, 200
    return code, {"status": status, "checks": {name: result.as_dict() for name, result in results.items()}}
