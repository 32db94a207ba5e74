"""Health: each dependency reported on its own. 503 ``down`` only without the database (nothing
can be served); anything else away (broker, cache, workers) is 200 ``degraded``: the API still
takes documents, so a load balancer must keep sending them.

The broker that goes down is the test's own Redis on a free port: the shared one is never touched.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import time_machine
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from config.celery import BEAT_SCHEDULE
from config.settings import base as settings_module
from config.settings.base import celery_transport_options
from core import health, tasks
from core.models import WorkerHeartbeat
from tests.ports import free_port

HEALTH = "/api/v1/health"


@pytest.fixture
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A Redis server of this test alone, and its URL; stopped at the end whatever happens."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        client.close()
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def worker_alive(db: None) -> None:
    """A worker ran the heartbeat task just now."""
    health.heartbeat_record(name="worker@tests")


def test_it_reports_every_dependency_ok(worker_alive: None, client: Client) -> None:
    response = client.get(HEALTH)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    for name in ("database", "broker", "cache", "worker", "outbox"):
        assert body["checks"][name]["status"] == "ok", (name, body)
    assert response["Cache-Control"] == "no-store"


def test_it_needs_no_key_and_is_not_throttled(worker_alive: None, client: Client, settings: Settings) -> None:
    settings.API_THROTTLE_RATE = "1/min"

    assert [client.get(HEALTH).status_code for _ in range(3)] == [200, 200, 200]


def test_it_reports_a_stopped_broker_as_degraded_not_503(
    worker_alive: None, client: Client, settings: Settings, own_redis: tuple[subprocess.Popen[bytes], str]
) -> None:
    process, url = own_redis
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(url)

    running = client.get(HEALTH)
    assert running.status_code == 200
    assert running.json()["checks"]["broker"]["status"] == "ok"

    process.terminate()
    process.wait(timeout=10)
    stopped = client.get(HEALTH)

    # The database is up: documents are still taken, so the instance stays in rotation.
    assert stopped.status_code == 200
    body = stopped.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "down"
    assert body["checks"]["broker"]["error"]
    # A refused connection is reported at once, not after kombu's retry back-off.
    assert body["checks"]["broker"]["latency_ms"] < 1000
    assert stopped["Content-Type"] == "application/json"


def test_the_shared_broker_is_untouched_by_the_stopped_one(
    db: None, client: Client, settings: Settings, own_redis: tuple[subprocess.Popen[bytes], str]
) -> None:
    process, url = own_redis
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(url)
    process.terminate()
    process.wait(timeout=10)
    assert client.get(HEALTH).json()["checks"]["broker"]["status"] == "down"

    settings.CELERY_BROKER_URL = settings.REDIS_URL
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(settings.REDIS_URL)

    assert client.get(HEALTH).json()["checks"]["broker"]["status"] == "ok"


def test_it_reports_a_missing_filesystem_broker_folder(
    db: None, client: Client, settings: Settings, tmp_path: Path
) -> None:
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "missing")}

    response = client.get(HEALTH)

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    broker = response.json()["checks"]["broker"]
    assert (broker["status"], broker["error"]) == ("down", "FileNotFoundError")
    assert response.json()["checks"]["database"]["status"] == "ok"


def test_it_reports_a_filesystem_broker_with_its_folder_ok(
    db: None, client: Client, settings: Settings, tmp_path: Path
) -> None:
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}

    response = client.get(HEALTH)

    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["status"] == "ok"


def test_it_answers_503_down_when_the_database_is_unreachable(
    worker_alive: None, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A connection of its own to a port where no PostgreSQL listens; the test's stays as it was.
    unreachable = connections.create_connection(DEFAULT_DB_ALIAS)
    unreachable.settings_dict = {**unreachable.settings_dict, "HOST": "127.0.0.1", "PORT": free_port()}
    monkeypatch.setattr(health, "connection", unreachable)

    response = client.get(HEALTH)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert (body["checks"]["database"]["status"], body["checks"]["database"]["error"]) == ("down", "OperationalError")
    assert body["checks"]["broker"]["status"] == "ok"
    assert response["Content-Type"] == "application/json"


def test_it_reports_an_unreachable_cache_as_degraded(worker_alive: None, client: Client, settings: Settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }

    response = client.get(HEALTH)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert (body["checks"]["cache"]["status"], body["checks"]["cache"]["error"]) == ("down", "ConnectionError")
    assert body["checks"]["database"]["status"] == "ok"


# --- Workers ---------------------------------------------------------------------------------


def test_the_heartbeat_task_records_its_worker(db: None) -> None:
    result = tasks.record_worker_heartbeat.apply()

    assert result.successful()
    beat = WorkerHeartbeat.objects.get()
    assert timezone.now() - beat.beat_at < datetime.timedelta(seconds=5)
    # Again: the same row moves on, one per worker.
    tasks.record_worker_heartbeat.apply()
    assert WorkerHeartbeat.objects.count() == 1


def test_the_heartbeat_is_scheduled_well_within_the_silence_health_allows() -> None:
    entry = BEAT_SCHEDULE["record-worker-heartbeat"]

    assert entry["task"] == tasks.record_worker_heartbeat.name
    assert float(entry["schedule"]) * 3 <= settings_module.HEALTH_WORKER_MAX_SILENCE_SECONDS


def test_a_worker_silent_for_over_a_minute_is_degraded_with_the_reason(
    db: None, client: Client, settings: Settings
) -> None:
    settings.HEALTH_WORKER_MAX_SILENCE_SECONDS = 60
    with time_machine.travel(timezone.now() - datetime.timedelta(seconds=95), tick=False):
        health.heartbeat_record(name="worker@tests")

    response = client.get(HEALTH)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    worker = body["checks"]["worker"]
    assert worker["status"] == "down"
    assert worker["error"] == "no worker heartbeat for 95 s (limit 60 s)"


def test_the_newest_heartbeat_of_several_workers_counts(db: None, client: Client) -> None:
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=1), tick=False):
        health.heartbeat_record(name="worker@gone")
    health.heartbeat_record(name="worker@alive")

    assert client.get(HEALTH).json()["checks"]["worker"]["status"] == "ok"


def test_no_heartbeat_ever_is_degraded(db: None, client: Client) -> None:
    response = client.get(HEALTH)

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["worker"] == {
        "status": "down",
        "latency_ms": response.json()["checks"]["worker"]["latency_ms"],
        "error": "no worker heartbeat recorded yet",
    }
