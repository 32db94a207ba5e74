"""Start the API, a Celery worker and beat together, and stop them together.

Used by ``make run``. Each process is an ordinary command a deployment would run on its
own (see docker-compose.yml); this only supervises them on one workstation.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

STARTUP_TIMEOUT_SECONDS = 60


class Command(BaseCommand):
    help = "Run the API (gunicorn), a Celery worker and Celery beat until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        base = f"http://{host}:{port}"
        bin_dir = Path(sys.executable).parent
        var = Path(settings.VAR_DIR)
        commands = {
            "api": [
                str(bin_dir / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            "worker": [
                str(bin_dir / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--hostname",
                "worker@%h",
            ],
            "beat": [
                str(bin_dir / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(var / "celerybeat-schedule"),
            ],
        }
        processes = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}  # noqa: S603 - fixed argv

        def stop(*_: Any) -> None:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            for process in processes.values():
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()

        def on_sigterm(*_: Any) -> None:
            stop()
            sys.exit(0)

        signal.signal(signal.SIGTERM, on_sigterm)
        try:
            self._wait_healthy(f"{base}/api/v1/health", processes)
            self.stdout.write(
                self.style.SUCCESS("\nSingle Window is running.")
                + f"\n  API:          {base}/api/v1/"
                + f"\n  API docs:     {base}/api/docs/"
                + f"\n  OpenAPI:      {base}/api/schema/"
                + f"\n  Health:       {base}/api/v1/health"
                + f"\n  Admin:        {base}/admin/"
                + f"\n  Database:     {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
                + f"\n  Broker:       {settings.CELERY_BROKER_URL.split('@')[-1]}"
                + "\n  Try:          curl -H 'Authorization: Bearer <a key printed above>' "
                + f"{base}/api/v1/enterprises/me"
                + "\nPress Ctrl+C to stop.\n"
            )
            while all(process.poll() is None for process in processes.values()):
                time.sleep(1)
            failed = [name for name, process in processes.items() if process.poll() is not None]
            self.stderr.write(f"Stopped because {', '.join(failed)} exited.")
        except KeyboardInterrupt:
            pass
        finally:
            stop()

    def _wait_healthy(self, url: str, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in processes.values()):
                return
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
