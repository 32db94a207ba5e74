"""Start the API, a Celery worker, beat and the partner simulators together; stop them together.

Used by ``make run``. Each process is an ordinary command a deployment would run on its
own (see docker-compose.yml); this only supervises them on one workstation. The customs and
payment simulators (``simulators/``) get their ports, the partners' signing secrets and the
certificate directory from ``var/simulators.env`` (written by ``load_demo``) through their
``SIM_*`` environment variables, and call back the API started here.
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

from single_window.management.commands.load_demo import SIMULATORS_ENV_FILE, read_env_file

STARTUP_TIMEOUT_SECONDS = 60


class Command(BaseCommand):
    help = "Run the API (gunicorn), a Celery worker and Celery beat until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--simulator-host", default=None, help="address of the partner simulators (default: from load_demo)"
        )
        parser.add_argument("--customs-port", type=int, default=None, help="customs simulator (default 8201)")
        parser.add_argument("--payment-port", type=int, default=None, help="payment simulator (default 8202)")
        parser.add_argument("--no-simulators", action="store_true", help="start without the partner simulators")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        base = f"http://{host}:{port}"
        bin_dir = Path(sys.executable).parent
        var = Path(settings.VAR_DIR)
        simulators = {} if options["no_simulators"] else self._simulators(var, base, options)
        commands: dict[str, list[str]] = {
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
        for name, (environment, _url) in simulators.items():
            processes[name] = subprocess.Popen(  # noqa: S603 - fixed argv
                [sys.executable, "-m", f"simulators.{name}"], env=environment, cwd=settings.BASE_DIR
            )

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
            for url in [f"{base}/api/v1/health", *(f"{url}/health" for _env, url in simulators.values())]:
                self._wait_healthy(url, processes)
            self.stdout.write(
                self.style.SUCCESS("\nSingle Window is running.")
                + f"\n  API:          {base}/api/v1/"
                + f"\n  API docs:     {base}/api/docs/"
                + f"\n  OpenAPI:      {base}/api/schema/"
                + f"\n  Health:       {base}/api/v1/health"
                + f"\n  Admin:        {base}/admin/"
                + f"\n  Database:     {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
                + f"\n  Broker:       {settings.CELERY_BROKER_URL.split('@')[-1]}"
                + "".join(
                    f"\n  {name.capitalize() + ' sim:':<13} {url}  (health {url}/health, log {url}/messages)"
                    for name, (_env, url) in simulators.items()
                )
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

    def _simulators(self, var: Path, base: str, options: dict[str, Any]) -> dict[str, tuple[dict[str, str], str]]:
        """Each simulator's environment and URL, from the file ``load_demo`` wrote."""
        path = var / SIMULATORS_ENV_FILE
        values = read_env_file(path)
        if not values:
            self.stderr.write(f"No {path}: starting without the partner simulators (run `manage.py load_demo`).")
            return {}
        simulators = {}
        for name, webhook in (("customs", "customs"), ("payment", "payments")):
            prefix = f"SIM_{name.upper()}"
            ours = {key: value for key, value in values.items() if key.startswith(f"{prefix}_")}
            host = options["simulator_host"] or ours.get(f"{prefix}_HOST", "127.0.0.1")
            port = options[f"{name}_port"] or int(ours.get(f"{prefix}_PORT", "0") or 0)
            if not port or f"{prefix}_SECRET" not in ours:
                self.stderr.write(f"{path} has no port or secret for the {name} simulator: not started.")
                continue
            if str(port) != ours.get(f"{prefix}_PORT"):
                self.stderr.write(
                    f"The {name} simulator listens on {port}, but load_demo pointed the partner at "
                    f"{ours.get(f'{prefix}_PORT')}: run `manage.py load_demo --{name}-port {port}` too."
                )
            ours |= {
                f"{prefix}_HOST": host,
                f"{prefix}_PORT": str(port),
                f"{prefix}_CALLBACK_URL": f"{base}/api/v1/webhooks/{webhook}",
            }
            # The simulators read only SIM_* settings; the rest of the environment is the shell's.
            environment = {key: value for key, value in os.environ.items() if not key.startswith(f"{prefix}_")}
            simulators[name] = (environment | ours, f"http://{host}:{port}")
        return simulators

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
