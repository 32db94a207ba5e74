"""The stack under test, started as a deployment runs it and stopped whatever happens.

The same commands as ``manage.py runstack`` and docker-compose.yml (gunicorn on
``config.wsgi``, a Celery worker, Celery beat, the customs and payment simulators with their
``SIM_*`` settings), under ``config.settings.production`` with an environment of the run's own:
a database made afresh, a Redis database, secrets generated for the run. Unlike runstack, a
child that exits is not started again: the run fails instead, since a restart in the middle of
a measurement would make it meaningless.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg2
import redis
from psycopg2 import sql

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STOP_TIMEOUT_SECONDS = 15.0


class StackError(RuntimeError):
    """The stack could not be started, or a part of it stopped."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def production_environment(*, database_url: str, redis_url: str) -> dict[str, str]:
    """What ``config.settings.production`` requires, with secrets made for this run.

    Two settings differ from a pilot area's, both because everything runs on one machine's
    loopback: plain HTTP (``DJANGO_SECURE_SSL_REDIRECT=false``: no proxy in front speaks TLS,
    and the simulators call back over plain HTTP), and webhooks to a loopback address
    (``WEBHOOK_ALLOW_PRIVATE_URLS``: the benchmark's own receiver).
    """
    keep = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "SIM_"))}
    return keep | {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "API_KEY_HMAC_SECRET": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": "1:" + base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "LOOKUP_HASH_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "PYTHONUNBUFFERED": "1",
    }


def database_recreate(database_url: str) -> None:
    """Drop the run's database and create it empty (connecting to ``postgres`` to do so)."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name or name in ("postgres", "template0", "template1"):
        msg = f"refusing to recreate database {name!r}"
        raise StackError(msg)
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        admin.close()


def redis_flush(redis_url: str) -> None:
    """Empty the run's Redis database: no task, cache entry or throttle count of a former run."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def run_command(argv: Sequence[str], *, env: Mapping[str, str], log: Path, timeout: float = 300) -> str:
    """Run one command to the end; its standard output, or ``StackError`` with the log's tail."""
    with log.open("ab") as err:
        completed = subprocess.run(  # noqa: S603 - our own argv
            list(argv), env=dict(env), cwd=ROOT, stdout=subprocess.PIPE, stderr=err, timeout=timeout, check=False
        )
    if completed.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        msg = f"{' '.join(argv[:4])} exited with {completed.returncode}:\n{tail}"
        raise StackError(msg)
    return completed.stdout.decode()


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        if self.process is None:
            msg = f"{self.name} is not started"
            raise StackError(msg)
        return self.process.pid


class Stack:
    """Children started in their own process groups (Ctrl-C reaches the benchmark only, which
    stops them itself) and stopped together."""

    def __init__(self) -> None:
        self.children: dict[str, Child] = {}

    def start(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], log: Path) -> Child:
        child = Child(name, list(argv), dict(env), log)
        child._log_file = log.open("ab")
        child.process = subprocess.Popen(  # noqa: S603 - our own argv
            child.argv, env=child.env, cwd=ROOT, stdout=child._log_file, stderr=subprocess.STDOUT, process_group=0
        )
        self.children[name] = child
        return child

    def check(self) -> None:
        """Raise if a child has exited."""
        for child in self.children.values():
            code = child.process.poll() if child.process is not None else None
            if code is not None:
                tail = child.log.read_text(encoding="utf-8", errors="replace")[-2000:]
                msg = f"{child.name} exited with {code}; the end of {child.log}:\n{tail}"
                raise StackError(msg)

    def stop(self, name: str | None = None, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Terminate the children (or one), then kill what is left of their process groups,
        at once for those that stopped and after ``timeout`` for the others."""
        chosen = [self.children[name]] if name else list(self.children.values())
        for child in chosen:
            # The leader only: gunicorn's master and Celery's main process stop their own
            # workers (a pool process terminated under a running task is a lost task).
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + timeout
        for child in chosen:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.process.pid, signal.SIGKILL)
                child.process.wait()
            # Whatever the child left in its group (a pool process) goes with it.
            _signal_group(child.process.pid, signal.SIGKILL)
            if child._log_file is not None:
                child._log_file.close()
            self.children.pop(child.name, None)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def wait_healthy(url: str, stack: Stack, *, timeout: float = 60, want: str = "") -> str:
    """Wait for ``url`` to answer 200 (and, with ``want``, a JSON ``status`` of that value, for
    at most half of ``timeout`` more); returns the status it answered last."""
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        stack.check()
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                status = (
                    str(response.json().get("status", ""))
                    if "json" in response.headers.get("content-type", "")
                    else "ok"
                )
                if not want or status == want:
                    return status
                deadline = min(deadline, time.monotonic() + timeout / 2)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    if status:
        return status
    msg = f"{url} did not answer 200 within {timeout:.0f} s"
    raise StackError(msg)


def gunicorn_argv(app: str, *, port: int, workers: int, threads: int, access_log: bool = True) -> list[str]:
    argv = [str(BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    if threads > 1:
        argv += ["--worker-class", "gthread", "--threads", str(threads)]
    if access_log:
        argv += ["--access-logfile", "-"]
    return argv


def celery_worker_argv(*, concurrency: int) -> list[str]:
    return [
        str(BIN / "celery"),
        "-A",
        "config",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--hostname",
        "bench-worker@%h",
    ]


def celery_beat_argv(*, schedule: Path) -> list[str]:
    return [str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO", "--schedule", str(schedule)]


def simulator_environment(name: str, base: Mapping[str, str], settings: Mapping[str, str]) -> dict[str, str]:
    """The simulator's ``SIM_<NAME>_*`` settings over the shell's environment, as runstack gives them."""
    prefix = f"SIM_{name.upper()}_"
    environment = {key: value for key, value in base.items() if not key.startswith(prefix)}
    return environment | {prefix + key: value for key, value in settings.items()}
