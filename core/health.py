"""Readiness of the services the API depends on, each reported on its own."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from kombu import Connection

BROKER_TIMEOUT_SECONDS = 2.0


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


def _timed(check: object) -> CheckResult:
    started = time.perf_counter()
    try:
        check()  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the class name tells an operator why
        return CheckResult(False, (time.perf_counter() - started) * 1000, type(exc).__name__)
    return CheckResult(True, (time.perf_counter() - started) * 1000)


def check_database() -> CheckResult:
    def probe() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return _timed(probe)


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

    return _timed(probe)
