"""``make bench`` / ``python -m bench``: start the stack, measure it from outside, stop it.

Phases, each on parcels of its own (docs/bench.md says what each figure means):

1. start: a fresh database, migrations, the registry (``bench.provision``), gunicorn, a Celery
   worker, beat, the customs and payment simulators; a webhook endpoint for
   ``inventory.status_changed`` pointed at the benchmark's receiver;
2. warm-up at a low rate (the full run);
3. ramp: single documents at rising rates, until a step is not sustained;
4. release: once the worker caught up, single documents at half the sustained rate, then the
   wait for each parcel's ``released`` event: from the fourth document's answer to the event;
5. batches through ``POST /api/v1/batches``, when the stack has it;
6. queries per document (``bench.queries``, and ``pg_stat_statements`` when loaded);
7. latency: single documents at a fixed rate (200 requests/s), last, since it leaves the web
   server a queue it needs minutes to work off; the stack stops after it;
8. baseline: the same ramp against ``bench.baseline``, one DRF view and one insert.

Every phase records the CPU time of the web server, the worker, beat, the simulators and the
database backends (``bench.cpu``). The summary is printed and everything is written to
``var/bench/<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import psutil
import psycopg2
import redis

from bench import stack as stacks
from bench.cpu import CpuMeter
from bench.drivers import Driver
from bench.enterprises import SENDER, parties_dict
from bench.load import generator_of, rotation
from bench.parcels import KINDS
from bench.receiver import Receiver
from bench.stats import distribution, open_step

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "var" / "bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/single_window_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
# The rate of the latency phase (requests/s).
LATENCY_RATE = 200.0
# A health check answered within this many seconds: the web server has no queue left.
PROMPT_SECONDS = 0.5
# The events on a parcel's way to release, timed from its fourth document's answer.
RELEASE_STEPS = ("matched", "declared", "accepted", "released")


@dataclass(frozen=True)
class Profile:
    """How long and how hard each phase runs."""

    warmup_s: float
    step_s: float  # each ramp step and each baseline step
    ramp_start: float  # documents/s
    ramp_factor: float
    ramp_steps: int
    refine: bool  # one more step between the last sustained rate and the first that was not
    release_s: float
    release_wait_s: float
    batch_s: float
    batch_size: int
    query_parcels: int
    latency_s: float
    # How long a request of the latency phase may wait: far past what the stack sustains, most
    # wait in gunicorn's queue; those not answered by then count as errors.
    latency_timeout_s: float
    baseline_start: float
    baseline_factor: float
    baseline_steps: int
    settle_s: float


QUICK = Profile(
    warmup_s=0,  # the first ramp step, at the same low rate, warms up
    step_s=4,
    ramp_start=4,
    ramp_factor=1.6,
    ramp_steps=7,
    refine=False,
    release_s=6,
    release_wait_s=12,
    batch_s=8,
    batch_size=25,
    query_parcels=4,
    latency_s=3,
    latency_timeout_s=8,
    baseline_start=50,
    baseline_factor=2,
    baseline_steps=3,
    settle_s=4,
)
FULL = Profile(
    warmup_s=10,
    step_s=15,
    ramp_start=4,
    ramp_factor=1.25,
    ramp_steps=16,
    refine=True,
    release_s=40,
    release_wait_s=90,
    batch_s=30,
    batch_size=50,
    query_parcels=25,
    latency_s=15,
    latency_timeout_s=30,
    baseline_start=25,
    baseline_factor=1.5,
    baseline_steps=9,
    settle_s=20,
)


class Interrupted(Exception):
    """SIGTERM or SIGHUP: stop as Ctrl-C does."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter steps: about two minutes")
    parser.add_argument("--seed", type=int, default=1, help="seed of the parcels (default 1)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of each measured step")
    parser.add_argument("--base-url", default="", help="measure a running stack instead of starting one")
    parser.add_argument("--keys", type=Path, default=None, help="with --base-url: the keys (bench.provision's --out)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="the run's database, made afresh")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="the run's Redis database, emptied")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--web-threads", type=int, default=1, help="threads per worker (>1: gthread; default 1)")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--driver-processes", type=int, default=2, help="load driver processes (default 2)")
    parser.add_argument("--latency-rate", type=float, default=LATENCY_RATE, help="requests/s of the latency phase")
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        help="lists of history written before measuring (manage.py generate_history), for the scale curve",
    )
    parser.add_argument("--run-tag", default="", help="part of every business key (default: from the time)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where the results go (default var/bench)")
    args = parser.parse_args(argv)
    if args.base_url and args.keys is None:
        parser.error("--base-url needs --keys, the keys of the benchmark's enterprises in that stack")
    return args


def run_tag_for(moment: datetime.datetime) -> str:
    """Six base-36 digits of the time: unique enough between runs against one database."""
    value, digits = int(moment.timestamp()) % 36**6, ""
    for _ in range(6):
        value, digit = divmod(value, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit] + digits
    return digits


class Bench:
    """One run: its stack, driver processes, receiver, CPU meter and results."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.profile = QUICK if args.quick else FULL
        if args.duration:
            self.profile = replace(
                self.profile,
                step_s=args.duration,
                latency_s=args.duration,
                batch_s=2 * args.duration,
                release_s=2 * args.duration,
            )
        self.started = datetime.datetime.now(datetime.UTC)
        stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        self.out = Path(args.out)
        self.run_dir = self.out / stamp
        self.result_path = self.out / f"{stamp}.json"
        self.tag = (args.run_tag or run_tag_for(self.started)).upper()
        self.base_time = self.started - datetime.timedelta(minutes=1)
        self.stack = stacks.Stack()
        self.meter = CpuMeter(database=_database_name(args.database_url) if not args.base_url else "")
        self.receiver = Receiver()
        self.drivers: list[Driver] = []
        self.keys: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.base_url = args.base_url.rstrip("/")
        self.next_parcel = 0
        self.fourth_accepted: dict[int, float] = {}  # parcel -> time.monotonic() of its fourth answer
        self.phase_parcels: dict[str, range] = {}
        self.result: dict[str, Any] = {"phases": {}, "notes": []}
        self.log = self.run_dir / "logs"

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.log.mkdir(parents=True, exist_ok=True)
        self.result |= {
            "started_at": self.started.isoformat(),
            "quick": self.args.quick,
            "seed": self.args.seed,
            "history_lists": self.args.scale,
            "run_tag": self.tag,
            "profile": asdict(self.profile),
            "machine": _machine(),
        }
        self.meter.start()
        self.receiver.start()
        try:
            self._say(f"Run directory {self.run_dir}")
            if self.base_url:
                self.keys = json.loads(Path(self.args.keys).read_text(encoding="utf-8"))["keys"]
                self.result["stack"] = {"base_url": self.base_url, "started_by_bench": False}
            else:
                self.start_stack()
            self.register_webhook()
            self.phases()
        except BaseException as exc:
            # The partial results say why they stop where they do.
            self.result["error"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.finish()
        return self.result

    def phases(self) -> None:
        p = self.profile
        if p.warmup_s:
            self.open_phase("warmup", rate=p.ramp_start, duration=p.warmup_s)
            self.settle()
        sustained = self.ramp()
        # The release phase times the whole way of a parcel: it starts once the worker caught up.
        self.settle(limit=p.release_wait_s)
        release_rate = max(2.0, round(0.5 * (sustained or p.ramp_start), 1))
        statements = self.statements_reset()
        whole = self.meter.mark()
        release = self.open_phase("release", rate=release_rate, duration=p.release_s)
        release["release"] = self.release_latency("release", wait=p.release_wait_s)
        # From the first document to the last parcel's release: every part's work for these parcels.
        release["cpu_seconds_until_released"] = self.meter.since(whole)
        if statements:
            release["queries_pg_stat_statements"] = self.statements_read(release)
        self.batches()
        self.settle()
        self.queries()
        # Last on this stack: far above what two cores sustain, it leaves a queue of requests
        # behind (answered long after their clients gave up), so the stack stops right after.
        latency = self.open_phase(
            "latency", rate=self.args.latency_rate, duration=p.latency_s, timeout=p.latency_timeout_s
        )
        if not self.args.base_url:
            # What is left in its queue is of no use: no graceful wait.
            self.stack.stop(timeout=2)
        self.baseline(sustained)
        self.summarise(sustained, latency, release)

    def start_stack(self) -> None:
        """(1) a fresh database, migrated, and an empty Redis database; (2) gunicorn, the worker
        and beat, which start while (3) the registry is made; (4) the simulators, which need the
        partners' secrets; (5) every part answers."""
        args, started = self.args, time.monotonic()
        steps: dict[str, float] = {}
        self.env = stacks.production_environment(database_url=args.database_url, redis_url=args.redis_url)
        python = sys.executable
        # 1.
        self._say("Database and Redis afresh, migrations ...")
        stacks.database_recreate(args.database_url)
        stacks.redis_flush(args.redis_url)
        stacks.run_command([python, "manage.py", "migrate", "--noinput"], env=self.env, log=self.log / "migrate.log")
        steps["migrate"] = round(time.monotonic() - started, 1)
        # 2.
        web_port, customs_port, payment_port = stacks.free_port(), stacks.free_port(), stacks.free_port()
        self.base_url = f"http://127.0.0.1:{web_port}"
        customs_url, payment_url = f"http://127.0.0.1:{customs_port}", f"http://127.0.0.1:{payment_port}"
        self._say(f"Starting gunicorn ({args.web_workers} x {args.web_threads}), the worker and beat ...")
        web = self.stack.start(
            "web",
            stacks.gunicorn_argv(
                "config.wsgi:application", port=web_port, workers=args.web_workers, threads=args.web_threads
            ),
            env=self.env,
            log=self.log / "web.log",
        )
        worker = self.stack.start(
            "worker",
            stacks.celery_worker_argv(concurrency=args.worker_concurrency),
            env=self.env,
            log=self.log / "worker.log",
        )
        beat = self.stack.start(
            "beat",
            stacks.celery_beat_argv(schedule=self.run_dir / "celerybeat-schedule"),
            env=self.env,
            log=self.log / "beat.log",
        )
        for group, child in (("web", web), ("worker", worker), ("beat", beat)):
            self.meter.watch(group, child.pid)
        # 3.
        self._say("Registry: enterprises, appointment, partners, signing keys, API keys ...")
        provision, certificates = self.run_dir / "provision.json", self.run_dir / "certificates"
        stacks.run_command(
            [
                *(python, "-m", "bench.djangorun", "bench.provision"),
                *("--customs-url", customs_url, "--payment-url", payment_url),
                *("--certificates", str(certificates), "--keys", str(self.run_dir / "signing-keys")),
                *("--out", str(provision)),
            ],
            env=self.env,
            log=self.log / "provision.log",
        )
        steps["registry"] = round(time.monotonic() - started, 1)
        if args.scale:
            # With the stack's own keys, so the history reads as the stack's own documents.
            self._say(f"History: {args.scale:,} lists of past parcels ...")
            stacks.run_command(
                [python, "manage.py", "generate_history", "--lists", str(args.scale), "--seed", "1"],
                env=self.env,
                log=self.log / "history.log",
                timeout=7200,
            )
            # Measured as a database in service is: the freshly written rows vacuumed (else
            # autovacuum works through them during the measurement and its CPU counts as the
            # product's).
            self._say("History: VACUUM (ANALYZE) ...")
            stacks.run_command(
                ["psql", args.database_url, "-c", "VACUUM (ANALYZE)"],
                env=self.env,
                log=self.log / "vacuum.log",
                timeout=7200,
            )
            steps["history"] = round(time.monotonic() - started, 1)
        provisioned = json.loads(provision.read_text(encoding="utf-8"))
        self.keys, secrets = provisioned["keys"], provisioned["partner_secrets"]
        pairs = self.run_dir / "verified-pairs.json"
        pairs.write_text(json.dumps(self.generator().verified_pairs(), ensure_ascii=False), encoding="utf-8")
        # 4.
        self._say("Starting the customs and payment simulators ...")
        customs_settings = {
            "HOST": "127.0.0.1",
            "PORT": str(customs_port),
            "SECRET": secrets["customs"],
            "CERTIFICATES": str(certificates),
            "CALLBACK_URL": f"{self.base_url}/api/v1/webhooks/customs",
            "SCRIPT": "default",
            "SEED": str(args.seed),
        }
        payment_settings = {
            "HOST": "127.0.0.1",
            "PORT": str(payment_port),
            "SECRET": secrets["payment"],
            "CALLBACK_URL": f"{self.base_url}/api/v1/webhooks/payments",
            "VERIFIED_PAIRS": str(pairs),
        }
        for name, settings in (("customs", customs_settings), ("payment", payment_settings)):
            child = self.stack.start(
                name,
                [python, "-m", f"simulators.{name}"],
                env=stacks.simulator_environment(name, os.environ, settings),
                log=self.log / f"{name}.log",
            )
            self.meter.watch("simulators", child.pid)
        # 5.
        stacks.wait_healthy(f"{customs_url}/health", self.stack)
        stacks.wait_healthy(f"{payment_url}/health", self.stack)
        health = stacks.wait_healthy(f"{self.base_url}/api/v1/health", self.stack, timeout=60)
        steps["up"] = round(time.monotonic() - started, 1)
        self.result["stack"] = {
            "started_by_bench": True,
            "settings": "config.settings.production",
            "differences_from_production": {
                "DJANGO_SECURE_SSL_REDIRECT": "false (plain HTTP on the loopback, no TLS proxy in front)",
                "WEBHOOK_ALLOW_PRIVATE_URLS": "true (the benchmark's webhook receiver is on the loopback)",
            },
            "gunicorn": {"workers": args.web_workers, "threads": args.web_threads},
            "celery_worker_concurrency": args.worker_concurrency,
            "customs_simulator_script": "default (receipts 2, 120, 800, then the CEB816 tax bill, 0.5 s apart)",
            # "degraded" at start: the worker's first heartbeat is not in yet (the warm-up waits for it).
            "health_at_start": health,
            "start_seconds": steps,
        }
        self._say(f"Stack up in {steps['up']:.0f} s (health {health}) at {self.base_url}")

    def register_webhook(self) -> None:
        response = httpx.post(
            f"{self.base_url}/api/v1/webhooks/endpoints",
            json={"url": self.receiver.url, "event_types": ["inventory.status_changed"]},
            headers={"Authorization": f"Bearer {self.keys[SENDER['inventory']]}"},
            timeout=10,
        )
        if response.status_code != 201:
            msg = f"registering the webhook endpoint answered {response.status_code}: {response.text[:500]}"
            raise stacks.StackError(msg)
        self.receiver.secret = response.json()["secret"]

    def finish(self) -> None:
        for driver in self.drivers:
            driver.stop()
        with contextlib.suppress(Exception):
            self.stack.stop()
        self.receiver.stop()
        self.meter.stop()
        # The run's secrets and private keys are of no use once the stack is gone.
        for name in ("provision.json", "signing-keys"):
            path = self.run_dir / name
            if path.is_dir():
                for file in path.iterdir():
                    file.unlink()
                path.rmdir()
            elif path.exists():
                path.unlink()
        self.result["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat()
        self.result["wall_seconds"] = round((datetime.datetime.now(datetime.UTC) - self.started).total_seconds(), 1)
        self.result["bench_process_cpu_seconds"] = round(sum(os.times()[:2]), 2)
        self.out.mkdir(parents=True, exist_ok=True)
        self.result_path.write_text(json.dumps(self.result, indent=2, ensure_ascii=False), encoding="utf-8")

    # --- phases -------------------------------------------------------------------------------

    def generator_plan(self) -> dict[str, Any]:
        return {
            "seed": self.args.seed,
            "parties": parties_dict(),
            "base_time": self.base_time.isoformat(),
            "run_tag": self.tag,
        }

    def generator(self) -> Any:
        return generator_of(self.generator_plan())

    def take_parcels(self, name: str, count: int) -> range:
        parcels = range(self.next_parcel, self.next_parcel + count)
        self.next_parcel += count
        self.phase_parcels[name] = parcels
        return parcels

    def open_phase(
        self,
        name: str,
        *,
        rate: float,
        duration: float,
        base_url: str = "",
        kinds: Sequence[str] = KINDS,
        paths: dict[str, str] | None = None,
        record: bool = True,
        timeout: float = 30,
    ) -> dict[str, Any]:
        """Single documents at ``rate`` per second for ``duration`` seconds (open model)."""
        parcels = self.take_parcels(name, max(1, math.ceil(rate * duration / len(kinds))))
        plan = self.generator_plan() | {
            "mode": "open",
            "base_url": base_url or self.base_url,
            "first_parcel": parcels.start,
            "parcels": len(parcels),
            "rate": rate,
            "kinds": list(kinds),
            # The four documents of a parcel come in over about a second.
            "lag": max(1, round(rate / 12)),
            "keys": {kind: self.keys.get(SENDER[kind], "") for kind in KINDS} if not paths else {},
            "paths": paths,
            "idempotency": not paths,
            "timeout": timeout,
        }
        began = time.monotonic()
        shards = max(1, min(self.args.driver_processes, len(parcels)))
        self._say(f"{name}: {rate:g} documents/s for {duration:g} s ({len(parcels)} parcels) ...")
        results, start_at, cpu = self.drive(name, plan, shards=shards, timeout=duration + timeout)
        outcomes = [row for result in results for row in result["outcomes"]]
        figures = open_step(outcomes, rate=rate, duration=duration, start_at=start_at)
        figures["cpu_seconds"] = cpu_split(cpu, driver=sum(r["cpu_seconds"] for r in results))
        figures["wall_s"] = round(time.monotonic() - began, 1)
        figures["tasks_queued_after"] = self.tasks_queued()
        if record:
            self._fourth_answers(outcomes, kinds)
        self.result["phases"][name] = figures
        self._say(
            f"  {figures['achieved_per_s']:g}/s achieved, errors {figures['error_rate']:.2%}, "
            f"p50 {figures['latency_ms']['p50']} ms, p99 {figures['latency_ms']['p99']} ms"
            + ("" if figures["sustained"] else "  (not sustained)")
        )
        return figures

    def drive(
        self, name: str, plan: dict[str, Any], *, shards: int, timeout: float
    ) -> tuple[list[dict[str, Any]], float, dict[str, float]]:
        """Give ``plan`` to ``shards`` driver processes, start them together, collect results."""
        self.stack.check()
        directory = self.run_dir / "plans"
        directory.mkdir(exist_ok=True)
        while len(self.drivers) < shards:
            self.drivers.append(Driver(f"driver-{len(self.drivers)}"))
        drivers = self.drivers[:shards]
        paths = []
        for shard, driver in enumerate(drivers):
            plan_path = directory / f"{name}-{shard}.json"
            plan_path.write_text(json.dumps(plan | {"shard": [shard, shards]}), encoding="utf-8")
            result_path = directory / f"{name}-{shard}.result.json"
            result_path.unlink(missing_ok=True)
            driver.prepare(plan_path, result_path)
            paths.append(result_path)
        mark, own = self.meter.mark(), os.times()
        start_at = time.monotonic() + 0.1
        for driver in drivers:
            driver.go(start_at)
        for driver in drivers:
            driver.wait_done(timeout=timeout + 60)
        cpu = self.meter.since(mark)
        # The benchmark's own process: the webhook receiver and the CPU sampler.
        now = os.times()
        cpu["bench"] = round(now.user - own.user + now.system - own.system, 2)
        return [json.loads(path.read_text(encoding="utf-8")) for path in paths], start_at, cpu

    def ramp(self) -> float:
        """Rising rates until one is not sustained; the highest sustained rate's throughput."""
        p = self.profile
        rate, best_rate, best, failed_rate = p.ramp_start, 0.0, 0.0, 0.0
        steps = []
        for step in range(p.ramp_steps):
            figures = self.open_phase(f"ramp-{step + 1}", rate=rate, duration=p.step_s)
            steps.append(figures)
            if not figures["sustained"]:
                failed_rate = rate
                break
            best_rate, best = rate, figures["achieved_per_s"]
            rate = round(rate * p.ramp_factor, 1)
        if p.refine and best_rate and failed_rate:
            self.settle()
            middle = round((best_rate + failed_rate) / 2, 1)
            figures = self.open_phase("ramp-refine", rate=middle, duration=p.step_s)
            steps.append(figures)
            if figures["sustained"]:
                best_rate, best = middle, figures["achieved_per_s"]
        ceiling = not failed_rate
        if ceiling:
            self.result["notes"].append(
                f"Every ramp step was sustained: the stack takes more than {best_rate:g} documents/s (a longer ramp "
                "would tell how much more)."
            )
        self.result["ramp"] = {
            "sustained_offered_per_s": best_rate,
            "sustained_documents_per_s": best,
            "every_step_sustained": ceiling,
        }
        return best

    def settle(self, limit: float = 0) -> None:
        """Let the stack catch up before the next phase, for at most ``limit`` (or ``settle_s``) seconds:
        (1) the web server answers its health check promptly again (no queue of requests left
        by a step it could not keep up with), (2) the worker's queue in the broker is empty."""
        started = time.monotonic()
        deadline = started + (limit or self.profile.settle_s)
        prompt = False
        while not prompt and time.monotonic() < deadline:
            asked = time.monotonic()
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{self.base_url}/api/v1/health", timeout=max(0.1, deadline - asked))
                prompt = time.monotonic() - asked < PROMPT_SECONDS
            if not prompt:
                time.sleep(0.2)
        left = self.tasks_queued()
        while left > 0 and time.monotonic() < deadline:
            time.sleep(0.5)
            left = self.tasks_queued()
        self.result.setdefault("settles", []).append(
            {"seconds": round(time.monotonic() - started, 1), "web_prompt": prompt, "tasks_queued_after": left}
        )

    def tasks_queued(self) -> int:
        """Tasks waiting for the Celery worker in the broker; -1 when the stack is not ours."""
        if self.args.base_url:
            return -1
        client = redis.Redis.from_url(self.args.redis_url)
        try:
            return int(client.llen("celery"))
        finally:
            client.close()

    def _fourth_answers(self, outcomes: Sequence[Sequence[Any]], kinds: Sequence[str]) -> None:
        answers: dict[int, list[float]] = {}
        for parcel, _kind, _offset, _late, _latency, status, _error, done_at in outcomes:
            if 200 <= status < 300:
                answers.setdefault(parcel, []).append(done_at)
        for parcel, times in answers.items():
            if len(times) == len(kinds):
                self.fourth_accepted[parcel] = max(times)

    def release_latency(self, name: str, *, wait: float) -> dict[str, Any]:
        """From the fourth document's answer to the ``released`` event, for the phase's parcels
        that should clear; waits up to ``wait`` seconds for the last events."""
        generator = self.generator()
        parcels = [generator.parcel(n) for n in self.phase_parcels[name]]
        expected = {p.order_no: p.index for p in parcels if p.should_clear and p.index in self.fourth_accepted}
        # A list paid by a relative fails matching until the payment company's answer comes,
        # then is matched again: its match_failed is not its last word.
        family = {p.order_no for p in parcels if p.paid_by_family}

        def outcome(order_no: str, latest: dict[str, str], released: dict[str, float]) -> str:
            if order_no in released:
                return "released"
            status = latest.get(order_no, "no event")
            return "match_failed" if status == "match_failed" and order_no not in family else status

        self._say(f"  waiting up to {wait:g} s for {len(expected)} parcels' released events ...")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            latest, released = self.receiver.statuses(), self.receiver.by_order("released")
            if all(outcome(o, latest, released) in ("released", "match_failed") for o in expected):
                break
            self.stack.check()
            time.sleep(0.5)
        released, latest = self.receiver.by_order("released"), self.receiver.statuses()
        outcomes = Counter(outcome(order_no, latest, released) for order_no in expected)
        latencies = [
            released[order_no] - self.fourth_accepted[index]
            for order_no, index in expected.items()
            if order_no in released
        ]
        broken = [p for p in parcels if not p.should_clear]
        waiting = {status: n for status, n in outcomes.items() if status not in ("released", "match_failed")}
        figures: dict[str, Any] = {
            "parcels_sent": len(parcels),
            "parcels_all_four_accepted": sum(1 for p in parcels if p.index in self.fourth_accepted),
            "expected_to_clear": len(expected),
            "released": len(latencies),
            # The Zipf head's annual quota, mostly: lists that failed matching though built to clear.
            "match_failed_expected_to_clear": outcomes["match_failed"],
            "no_final_event_within_wait": sum(waiting.values()),
            # Where those lists were when the wait ended: their last status change received.
            "no_final_event_last_status": waiting,
            "built_to_fail": len(broken),
            "built_to_fail_match_failed": sum(1 for p in broken if latest.get(p.order_no) == "match_failed"),
            "latency_s": distribution(latencies, scale=1.0, digits=3),
            # Where the way goes: from the fourth answer to each step's event, for the lists
            # that were released (events of one list are delivered in their order).
            "steps_s": self._steps(expected, released),
            "webhook_deliveries": len(self.receiver.arrivals),
            "webhook_duplicates": self.receiver.duplicates,
            "webhook_refused_signature": self.receiver.refused,
        }
        self._say(
            f"  released {figures['released']}/{figures['expected_to_clear']}: median "
            f"{figures['latency_s']['p50']} s, p99 {figures['latency_s']['p99']} s (medians: "
            + ", ".join(f"{status} {step['p50']} s" for status, step in figures["steps_s"].items())
            + ")"
        )
        return figures

    def _steps(self, expected: dict[str, int], released: dict[str, float]) -> dict[str, Any]:
        steps: dict[str, Any] = {}
        for status in RELEASE_STEPS:
            arrived = self.receiver.by_order(status)
            steps[status] = distribution(
                [
                    arrived[order_no] - self.fourth_accepted[index]
                    for order_no, index in expected.items()
                    if order_no in released and order_no in arrived
                ],
                scale=1.0,
                digits=3,
            )
        return steps

    def batches(self) -> None:
        """Batches of ``batch_size`` documents, each of one sender, the four senders working at
        once on different chunks of parcels (``bench.load``), for ``batch_s`` seconds."""
        p = self.profile
        try:
            probe = httpx.post(
                f"{self.base_url}/api/v1/batches",
                json={"documents": []},
                headers={"Authorization": f"Bearer {self.keys[SENDER['order']]}"},
                timeout=30,
            )
        except httpx.HTTPError as exc:
            self.result["phases"]["batch"] = {"available": False, "probe_error": type(exc).__name__}
            self.result["notes"].append(f"POST /api/v1/batches did not answer ({type(exc).__name__}): not measured.")
            return
        if probe.status_code in (404, 405):
            self.result["phases"]["batch"] = {"available": False, "probe_status": probe.status_code}
            self.result["notes"].append(
                f"POST /api/v1/batches answered {probe.status_code}: batch throughput not measured."
            )
            self._say(f"batch: POST /api/v1/batches is not there ({probe.status_code}): not measured")
            return
        self.settle()
        # Enough chunks for 300 documents/s; senders stop at the deadline anyway.
        chunks = max(4, math.ceil(p.batch_s * 300 / (len(KINDS) * p.batch_size)) + 1)
        parcels = self.take_parcels("batch", chunks * p.batch_size)
        plan = self.generator_plan() | {
            "mode": "batch",
            "base_url": self.base_url,
            "first_parcel": parcels.start,
            "batch_size": p.batch_size,
            "chunks": chunks,
            "duration": p.batch_s,
            # Two connections per sender: a batch of lists (matched, judged and reserved as it is
            # stored) takes longer than the other kinds', and with one connection the lists would
            # use one web worker, one core, however far ahead the others ran.
            "per_sender": 2,
            "keys": {kind: self.keys[SENDER[kind]] for kind in KINDS},
            "timeout": 120,
        }
        self._say(f"batch: four senders, {p.batch_size} documents a batch, {p.batch_s:g} s ...")
        began = time.monotonic()
        results, start_at, cpu = self.drive("batch", plan, shards=1, timeout=p.batch_s + 180)
        rows = results[0]["results"]
        accepted_docs = sum(row[5] for row in rows)
        last = max((row[7] for row in rows), default=start_at)
        elapsed = max(1e-9, last - start_at)
        accepted_kinds: dict[int, int] = {}
        problems: dict[str, int] = {}
        for chunk, kind, _latency, status, _error, _accepted, refused, done_at, codes in rows:
            for code, count in codes.items():
                problems[code] = problems.get(code, 0) + count
            if status != 200:
                continue
            shift = rotation(KINDS[kind], p.batch_size)
            for i in range(p.batch_size):
                if i not in refused:
                    parcel = parcels.start + chunk * p.batch_size + (i + shift) % p.batch_size
                    accepted_kinds[parcel] = accepted_kinds.get(parcel, 0) + 1
                    self.fourth_accepted[parcel] = max(self.fourth_accepted.get(parcel, 0.0), done_at)
        complete = sum(1 for n in accepted_kinds.values() if n == len(KINDS))
        figures = {
            "available": True,
            "probe_status": probe.status_code,
            "batches": len(rows),
            "batch_statuses": _count(str(row[3]) if row[3] else row[4] for row in rows),
            "documents_accepted": accepted_docs,
            "documents_refused": sum(len(row[6]) for row in rows if row[3] == 200),
            "refusals": problems,
            "elapsed_s": round(elapsed, 2),
            "documents_per_s": round(accepted_docs / elapsed, 1),
            "parcels_per_s": round(complete / elapsed, 1),
            "batch_latency_ms": distribution([row[2] for row in rows]),
            "cpu_seconds": cpu_split(cpu, driver=results[0]["cpu_seconds"]),
            "wall_s": round(time.monotonic() - began, 1),
        }
        self.result["phases"]["batch"] = figures
        self._say(f"  {figures['documents_per_s']:g} documents/s, {figures['parcels_per_s']:g} parcels/s")

    def queries(self) -> None:
        """Queries per document, counted in-process for a sample of parcels (``bench.queries``)."""
        if self.args.base_url:
            self.result["queries"] = {"method": "not measured: --base-url (no access to the stack's process)"}
            return
        parcels = self.take_parcels("queries", self.profile.query_parcels)
        batched = self.take_parcels("queries-batch", self.profile.batch_size)
        plan = self.generator_plan() | {
            "first_parcel": parcels.start,
            "parcels": len(parcels),
            "batch_first_parcel": batched.start,
            "batch_parcels": len(batched),
            "keys": {kind: self.keys[SENDER[kind]] for kind in KINDS},
        }
        plan_path, out = self.run_dir / "plans" / "queries.json", self.run_dir / "plans" / "queries.result.json"
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        self._say(f"queries: {len(parcels)} parcels through the test client, in-process ...")
        stacks.run_command(
            [sys.executable, "-m", "bench.djangorun", "bench.queries", str(plan_path), str(out)],
            env=self.env,
            log=self.log / "queries.log",
        )
        self.result["queries"] = json.loads(out.read_text(encoding="utf-8"))
        batch = self.result["queries"].get("batch", {})
        self._say(
            f"  {self.result['queries']['per_document_mean']} queries per document one by one, "
            f"{batch.get('per_document_mean')} in batches of {batch.get('parcels')} (web side)"
        )

    def statements_reset(self) -> bool:
        """Whether ``pg_stat_statements`` can count this run's queries (then reset for its database)."""
        if self.args.base_url:
            return False
        try:
            with contextlib.closing(psycopg2.connect(self.args.database_url)) as connection:
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute("SHOW shared_preload_libraries")
                    row = cursor.fetchone()
                    if row is None or "pg_stat_statements" not in str(row[0]):
                        self.result["notes"].append(
                            "pg_stat_statements is not in shared_preload_libraries: queries counted in-process only."
                        )
                        return False
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                    cursor.execute(
                        "SELECT pg_stat_statements_reset(0, "
                        "(SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
                    )
            return True
        except psycopg2.Error as exc:
            self.result["notes"].append(f"pg_stat_statements unavailable: {exc}".strip())
            return False

    def statements_read(self, phase: dict[str, Any]) -> dict[str, Any]:
        """The statements of the phase: those the processes sent (round trips), and apart from
        them the foreign-key checks PostgreSQL runs inside an insert or update (its referential
        triggers' ``SELECT 1 FROM ONLY ... FOR KEY SHARE``), which cost no round trip."""
        with contextlib.closing(psycopg2.connect(self.args.database_url)) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT calls, query FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            rows = cursor.fetchall()
        checks = sum(int(calls) for calls, query in rows if FOREIGN_KEY_CHECK.match(query))
        sent = sum(int(calls) for calls, query in rows) - checks
        documents = max(1, phase["ok"])
        top = sorted(((int(calls), query) for calls, query in rows if not FOREIGN_KEY_CHECK.match(query)), reverse=True)
        return {
            "method": "pg_stat_statements: every statement on the run's database during the release phase "
            "(web, worker, beat), over the documents accepted",
            "statements": sent,
            "per_document": round(sent / documents, 1),
            "foreign_key_checks_per_document": round(checks / documents, 1),
            "most_frequent": [
                {"per_document": round(calls / documents, 2), "statement": " ".join(query.split())[:200]}
                for calls, query in top[:25]
            ],
        }

    def baseline(self, sustained: float) -> None:
        """The same driver against ``bench.baseline`` served by the same gunicorn."""
        if self.args.base_url:
            self.result["baseline"] = {"measured": False, "why": "--base-url"}
            return
        self.settle()
        args, p = self.args, self.profile
        env = {key: value for key, value in self.env.items() if key != "DJANGO_SETTINGS_MODULE"}
        env["DJANGO_SETTINGS_MODULE"] = "bench.baseline.settings"
        stacks.run_command(
            [sys.executable, "-m", "django", "migrate", "--run-syncdb", "--noinput"],
            env=env,
            log=self.log / "baseline-migrate.log",
        )
        port = stacks.free_port()
        url = f"http://127.0.0.1:{port}"
        child = self.stack.start(
            "baseline",
            stacks.gunicorn_argv(
                "bench.baseline.wsgi:application", port=port, workers=args.web_workers, threads=args.web_threads
            ),
            env=env,
            log=self.log / "baseline.log",
        )
        self.meter.watch("baseline_web", child.pid)
        try:
            _wait_port(url + "/orders", self.stack)
            rate, best_rate, best = p.baseline_start, 0.0, 0.0
            for step in range(p.baseline_steps):
                figures = self.open_phase(
                    f"baseline-{step + 1}",
                    rate=rate,
                    duration=p.step_s,
                    base_url=url,
                    kinds=("order",),
                    paths={"order": "/orders"},
                    record=False,
                    timeout=p.latency_timeout_s,
                )
                if not figures["sustained"]:
                    break
                best_rate, best = rate, figures["achieved_per_s"]
                rate = round(rate * p.baseline_factor, 1)
        finally:
            self.stack.stop("baseline")
        self.result["baseline"] = {
            "measured": True,
            "sustained_offered_per_s": best_rate,
            "sustained_requests_per_s": best,
            "ratio_single_document_to_baseline": round(sustained / best, 3) if best else None,
            "every_step_sustained": best_rate >= p.baseline_start * p.baseline_factor ** (p.baseline_steps - 1),
        }
        if self.result["baseline"]["every_step_sustained"]:
            self.result["notes"].append(
                f"Every baseline step was sustained: the baseline takes more than {best_rate:g} requests/s, "
                "and the ratio is an upper bound."
            )

    def summarise(self, sustained: float, latency: dict[str, Any], release: dict[str, Any]) -> None:
        phases = self.result["phases"]
        batch = phases.get("batch", {})
        baseline = self.result.get("baseline", {})
        whole = release.get("cpu_seconds_until_released", {})
        documents = max(1, release["ok"])
        per_document = {
            group: round(1000 * whole.get(group, 0.0) / documents, 1)
            for group in ("web", "worker", "beat", "simulators", "database")
        }
        ours = sum(per_document.values()) or 1.0
        self.result["summary"] = {
            "single_document_sustained_per_s": sustained,
            "batch_documents_per_s": batch.get("documents_per_s") if batch.get("available") else "unavailable",
            "batch_parcels_per_s": batch.get("parcels_per_s") if batch.get("available") else "unavailable",
            # Documents of parcels whose four documents were all accepted: cheap documents sent
            # ahead of their lists do not count.
            "batch_parcel_documents_per_s": round(batch["parcels_per_s"] * len(KINDS), 1)
            if batch.get("available")
            else "unavailable",
            "latency_at_rate_per_s": self.args.latency_rate,
            "latency_ms": latency["latency_ms"],
            "latency_error_rate": latency["error_rate"],
            "release_rate_per_s": release["offered_per_s"],
            "release_latency_s": release["release"]["latency_s"],
            "baseline_per_s": baseline.get("sustained_requests_per_s"),
            "ratio_to_baseline": baseline.get("ratio_single_document_to_baseline"),
            "cpu_ms_per_document": per_document,
            "cpu_share": {group: round(ms / ours, 3) for group, ms in per_document.items()},
            "queries": self.result.get("queries", {}),
            "statements_all_processes": release.get("queries_pg_stat_statements"),
        }

    def _say(self, text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


# A referential trigger's check, as pg_stat_statements shows it.
FOREIGN_KEY_CHECK = re.compile(r'SELECT 1 FROM ONLY "[^"]+"\."[^"]+" x WHERE')


def cpu_split(cpu: dict[str, float], *, driver: float) -> dict[str, float]:
    """The groups' CPU seconds, the driver's, and ``other``: what the rest of the machine used
    meanwhile (the operating system, Redis, any other work on the machine)."""
    ours = sum(seconds for group, seconds in cpu.items() if group != "machine") + driver
    return cpu | {"driver": round(driver, 2), "other": round(cpu.get("machine", 0.0) - ours, 2)}


def _count(values: Iterator[str]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for value in values:
        counted[value] = counted.get(value, 0) + 1
    return counted


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("?", maxsplit=1)[0]


def _wait_port(url: str, stack: stacks.Stack, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check()
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    msg = f"{url} did not answer within {timeout:.0f} s"
    raise stacks.StackError(msg)


def _machine() -> dict[str, Any]:
    return {
        "cpus": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def print_summary(result: dict[str, Any], path: Path) -> None:
    s = result.get("summary", {})
    lat = s.get("latency_ms", {})
    rel = s.get("release_latency_s", {})
    queries = s.get("queries", {})
    cpu = s.get("cpu_ms_per_document", {})
    share = s.get("cpu_share", {})
    batch = (
        f"{s.get('batch_documents_per_s')} documents/s, {s.get('batch_parcels_per_s')} parcels/s "
        f"(whole parcels: {s.get('batch_parcel_documents_per_s')} documents/s)"
    )
    latency = (
        f"p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms, p99 {lat.get('p99')} ms "
        f"(errors {s.get('latency_error_rate', 0):.1%})"
    )
    release = (
        f"median {rel.get('p50')} s, p99 {rel.get('p99')} s "
        f"({rel.get('count')} parcels at {s.get('release_rate_per_s')} documents/s)"
    )
    shares = ", ".join(f"{group} {ms:g} ms ({share.get(group, 0):.0%})" for group, ms in cpu.items())
    lines = [
        "",
        "Single Window benchmark" + (" (quick)" if result.get("quick") else ""),
        f"  single documents, sustained:  {s.get('single_document_sustained_per_s')} documents/s",
        f"  batches:                      {batch}",
        f"  latency at {s.get('latency_at_rate_per_s'):g} requests/s:   {latency}",
        f"  fourth document -> released:  {release}",
        f"  baseline DRF view:            {s.get('baseline_per_s')} requests/s; ratio {s.get('ratio_to_baseline')}",
        (
            f"  queries per document:         {queries.get('per_document_mean')} one by one, "
            f"{(queries.get('batch') or {}).get('per_document_mean')} in batches ({queries.get('method', '')})"
        ),
        *(
            [
                (
                    f"  statements per document:      {everything['per_document']} sent by web, worker and beat "
                    f"(pg_stat_statements), and {everything['foreign_key_checks_per_document']} foreign-key checks"
                )
            ]
            if (everything := s.get("statements_all_processes"))
            else []
        ),
        f"  CPU per document:             {shares}",
        *(f"  note: {note}" for note in result.get("notes", [])),
        f"  wall time {result.get('wall_seconds')} s; everything in {path}",
        "",
    ]
    sys.stdout.write("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    previous = {signum: signal.signal(signum, _interrupt) for signum in (signal.SIGTERM, signal.SIGHUP)}
    bench = Bench(args)
    try:
        result = bench.run()
    except (KeyboardInterrupt, Interrupted):
        sys.stderr.write(f"\nInterrupted; the stack is stopped. Partial results: {bench.result_path}\n")
        return 130
    except stacks.StackError as exc:
        sys.stderr.write(f"\nThe benchmark stopped: {exc}\nLogs: {bench.log}\n")
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print_summary(result, bench.result_path)
    return 0
