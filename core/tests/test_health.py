"""Health: the database and the broker, reported separately; 503 when one is down.

The broker that goes down is the test's own Redis on a free port: the shared one is never touched.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.test import Client
from pytest_django.fixtures import Settings

from config.settings.base import celery_transport_options

HEALTH = "/api/v1/health"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A Redis server of this test alone, and its URL; stopped at the end whatever happens."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
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


def test_it_reports_database_and_broker_ok(db: None, client: Client) -> None:
    response = client.get(HEALTH)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"
    assert response["Cache-Control"] == "no-store"


def test_it_needs_no_key_and_is_not_throttled(db: None, client: Client, settings: Settings) -> None:
    settings.API_THROTTLE_RATE = "1/min"

    assert [client.get(HEALTH).status_code for _ in range(3)] == [200, 200, 200]


def test_it_reports_a_stopped_broker_with_503(
    db: None, client: Client, settings: Settings, own_redis: tuple[subprocess.Popen[bytes], str]
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

    assert stopped.status_code == 503
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
    assert client.get(HEALTH).status_code == 503

    settings.CELERY_BROKER_URL = settings.REDIS_URL
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(settings.REDIS_URL)

    assert client.get(HEALTH).status_code == 200


def test_it_reports_a_missing_filesystem_broker_folder(
    db: None, client: Client, settings: Settings, tmp_path: Path
) -> None:
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "missing")}

    response = client.get(HEALTH)

    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert (broker["status"], broker["error"]) == ("down", "FileNotFoundError")
    assert response.json()["checks"]["database"]["status"] == "ok"


def test_it_reports_a_filesystem_broker_with_its_folder_ok(
    db: None, client: Client, settings: Settings, tmp_path: Path
) -> None:
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}

    assert client.get(HEALTH).status_code == 200
