"""Start the API, a Celery worker, beat and the partner simulators together; stop them together.

Used by ``make run``. Each process is an ordinary command a deployment would run on its
own (see docker-compose.yml); this only supervises them on one workstation. The customs and
payment simulators (``simulators/``) get their ports, the partners' signing secrets and the
certificate directory from ``var/simulators.env`` (written by ``load_demo``) through their
``SIM_*`` environment variables, and call back the API started here. The shell's own
``SIM_<NAME>_<OPTION>`` values win over the file's (``SIM_CUSTOMS_SCRIPT=review make run``),
except the secret, the host and the callback URL (``simulator_environment``).

A child that exits is started again after a back-off (doubling from ``BACKOFF_INITIAL_SECONDS``
while it keeps dying quickly), at most ``MAX_RESTARTS_PER_MINUTE`` times a minute; past that
the stack stops, saying which child could not stay up. Ctrl-C, SIGTERM and SIGHUP stop
every child.
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from single_window.management.commands.load_demo import SIMULATORS_ENV_FILE, read_env_file

STARTUP_TIMEOUT_SECONDS = 60
BACKOFF_INITIAL_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
MAX_RESTARTS_PER_MINUTE = 5
# A child up this long has recovered: its next exit starts the back-off from the beginning.
STABLE_AFTER_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0

logger = logging.getLogger("single_window.runstack")

# A simulator's settings the shell cannot change: the partner's secret is load_demo's (the
# single window verifies callbacks with it), the address is the one the partner points at, and
# the callback URL is the API started here.
KEPT_OPTIONS = ("SECRET", "HOST", "CALLBACK_URL")


def simulator_environment(
    *,
    prefix: str,
    file_values: dict[str, str],
    shell: dict[str, str],
    host: str,
    port: int,
    callback_url: str,
) -> dict[str, str]:
    """The environment of one simulator's process (``prefix``: ``SIM_CUSTOMS`` ...).

    1. the shell's environment without its ``{prefix}_*`` variables;
    2. the ``{prefix}_*`` options ``load_demo`` wrote (``file_values``);
    3. over them, the shell's ``{prefix}_*`` options, but for ``KEPT_OPTIONS``;
    4. the ``host``, ``port`` and ``callback_url`` the stack runs it with.
    """
    ours = f"{prefix}_"
    options = {key: value for key, value in file_values.items() if key.startswith(ours)}
    options |= {
        key: value
        for key, value in shell.items()
        if key.startswith(ours) and key.removeprefix(ours) not in KEPT_OPTIONS
    }
    options |= {f"{ours}HOST": host, f"{ours}PORT": str(port), f"{ours}CALLBACK_URL": callback_url}
    return {key: value for key, value in shell.items() if not key.startswith(ours)} | options


@dataclass
class Child:
    """One supervised command and what the supervisor knows of it."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    # Exits in a row, each soon after its start: the back-off's exponent.
    failures: int = 0
    restart_at: float | None = None
    restarts: collections.deque[float] = field(default_factory=collections.deque)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class Supervisor:
    """Keeps its children running until stopped (see the module's docstring).

    ``poll_once`` is one step of the loop: notice exits, schedule restarts, start those due.
    """

    def __init__(
        self,
        children: Iterable[Child],
        *,
        backoff_initial: float = BACKOFF_INITIAL_SECONDS,
        backoff_max: float = BACKOFF_MAX_SECONDS,
        max_restarts_per_minute: int = MAX_RESTARTS_PER_MINUTE,
        stable_after: float = STABLE_AFTER_SECONDS,
        poll_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = {child.name: child for child in children}
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.max_restarts_per_minute = max_restarts_per_minute
        self.stable_after = stable_after
        self.poll_interval = poll_interval
        self.clock = clock
        self.stopping = False
        # Why the supervisor gave up ("" while it has not): the stack then stops.
        self.gave_up = ""

    def start(self) -> None:
        for child in self.children.values():
            self._spawn(child)

    def backoff(self, failures: int) -> float:
        """Seconds before restart number ``failures`` of a child that keeps dying quickly."""
        return float(min(self.backoff_max, self.backoff_initial * 2 ** max(0, failures - 1)))

    def poll_once(self) -> None:
        if self.stopping or self.gave_up:
            return
        now = self.clock()
        for child in self.children.values():
            if child.process is not None and child.restart_at is None and child.process.poll() is not None:
                self._exited(child, now)
                if self.gave_up:
                    return
            if child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                child.restarts.append(now)
                logger.warning("runstack: starting %s again", child.name)
                self._spawn(child)

    def run(self) -> None:
        """Supervise until asked to stop or until a child restarts too often; then stop all."""
        try:
            while not self.stopping and not self.gave_up:
                self.poll_once()
                time.sleep(self.poll_interval)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def request_stop(self, *_: Any) -> None:
        """Ask the loop to stop; safe from a signal handler (it only sets a flag)."""
        self.stopping = True

    def install_signal_handlers(self) -> dict[int, Any]:
        """SIGTERM and SIGHUP (a closed terminal) stop the stack as Ctrl-C does; returns the
        handlers they replace."""

        def handler(signum: int, frame: FrameType | None) -> None:
            self.request_stop()

        return {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGHUP)}

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Terminate every child, then kill those still running after ``timeout``."""
        self.stopping = True
        running = [child.process for child in self.children.values() if child.running]
        for process in running:
            if process is not None:
                process.terminate()
        deadline = self.clock() + timeout
        for process in running:
            if process is None:
                continue
            try:
                process.wait(timeout=max(0.0, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _spawn(self, child: Child) -> None:
        # A process group of its own: Ctrl-C reaches the supervisor only, which stops the
        # children itself, so a child dying of the same Ctrl-C is never taken for a crash.
        child.process = subprocess.Popen(  # noqa: S603 - fixed argv, ours
            child.argv, env=child.env, cwd=child.cwd, process_group=0
        )
        child.started_at = self.clock()

    def _exited(self, child: Child, now: float) -> None:
        code = child.process.returncode if child.process is not None else None
        while child.restarts and now - child.restarts[0] > 60:
            child.restarts.popleft()
        if len(child.restarts) >= self.max_restarts_per_minute:
            self.gave_up = (
                f"{child.name} exited with {code} after {len(child.restarts)} restarts within a minute; giving up"
            )
            logger.error("runstack: %s", self.gave_up)
            return
        child.failures = 1 if now - child.started_at >= self.stable_after else child.failures + 1
        delay = self.backoff(child.failures)
        child.restart_at = now + delay
        logger.warning("runstack: %s exited with %s; restarting in %.1f s", child.name, code, delay)


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
        parser.add_argument("--carrier-port", type=int, default=None, help="carrier simulator (default 8203)")
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
        children = [Child(name, argv) for name, argv in commands.items()]
        children += [
            Child(name, [sys.executable, "-m", f"simulators.{name}"], env=environment, cwd=Path(settings.BASE_DIR))
            for name, (environment, _url) in simulators.items()
        ]
        supervisor = Supervisor(children)
        supervisor.install_signal_handlers()
        supervisor.start()
        try:
            for url in [f"{base}/api/v1/health", *(f"{url}/health" for _env, url in simulators.values())]:
                self._wait_healthy(url, supervisor)
            if supervisor.stopping or supervisor.gave_up:
                return
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
                + "\nA process that exits is started again. Press Ctrl+C to stop.\n"
            )
            supervisor.run()
        except KeyboardInterrupt:
            pass
        finally:
            supervisor.stop()
            if supervisor.gave_up:
                self.stderr.write(f"Stopped: {supervisor.gave_up}.")

    def _simulators(self, var: Path, base: str, options: dict[str, Any]) -> dict[str, tuple[dict[str, str], str]]:
        """Each simulator's environment and URL, from the file ``load_demo`` wrote."""
        path = var / SIMULATORS_ENV_FILE
        values = read_env_file(path)
        if not values:
            self.stderr.write(f"No {path}: starting without the partner simulators (run `manage.py load_demo`).")
            return {}
        simulators = {}
        for name, webhook in (("customs", "customs"), ("payment", "payments"), ("carrier", "carriers")):
            prefix = f"SIM_{name.upper()}"
            ours = {key: value for key, value in values.items() if key.startswith(f"{prefix}_")}
            host = options["simulator_host"] or ours.get(f"{prefix}_HOST", "127.0.0.1")
            port = options[f"{name}_port"] or int(os.environ.get(f"{prefix}_PORT") or ours.get(f"{prefix}_PORT") or 0)
            if not port or f"{prefix}_SECRET" not in ours:
                self.stderr.write(f"{path} has no port or secret for the {name} simulator: not started.")
                continue
            if str(port) != ours.get(f"{prefix}_PORT"):
                self.stderr.write(
                    f"The {name} simulator listens on {port}, but load_demo pointed the partner at "
                    f"{ours.get(f'{prefix}_PORT')}: run `manage.py load_demo --{name}-port {port}` too."
                )
            environment = simulator_environment(
                prefix=prefix,
                file_values=ours,
                shell=dict(os.environ),
                host=host,
                port=port,
                callback_url=f"{base}/api/v1/webhooks/{webhook}",
            )
            simulators[name] = (environment, f"http://{host}:{port}")
        return simulators

    def _wait_healthy(self, url: str, supervisor: Supervisor) -> None:
        """Wait for ``url`` to answer 200, supervising meanwhile (a child may die at start)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline and not (supervisor.stopping or supervisor.gave_up):
            supervisor.poll_once()
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
