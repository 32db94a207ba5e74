"""The load driver: ``python -m bench.load --serve`` (or ``PLAN.json RESULT.json``), a process
of its own.

It sends what the plan says and writes what happened, nothing else: the orchestrator
(``bench.run``) starts the stack, makes the plans and reads the results.

Two modes:

- ``open``: single documents at a fixed arrival rate. Request ``i`` is due at
  ``start + i / rate`` and is sent then whether or not the earlier ones were answered (an open
  model: a slow server does not slow the arrivals down, so queueing shows in the latency instead
  of being hidden by a client that waits). Latency is measured from the due time, so a driver
  that falls behind its own schedule adds to the latency rather than hiding it.
- ``batch``: ``POST /api/v1/batches`` from the four senders for ``duration`` seconds, each
  batch holding one sender's documents of ``batch_size`` parcels (``BatchRun``).

For each plan the driver prints ``ready`` once the bodies are made and waits for the start time
(a ``time.monotonic()`` value, shared by every process of the machine) on its standard input, so
several driver processes (``shard``) start together; it prints ``done`` when the result is
written.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.parcels import KINDS, ParcelGenerator, Parties

PLURAL = {"order": "orders", "payment": "payments", "waybill": "waybills", "inventory": "inventories"}
# Requests a driver process has in flight at once: more than any server here answers at once
# (the rest wait in gunicorn's listen queue anyway). Past a few hundred, the connection pool's
# bookkeeping takes the driver's event loop from its schedule.
MAX_IN_FLIGHT = 256


@dataclass(frozen=True)
class Request:
    """One request of an open-model schedule, due ``offset`` seconds after the start."""

    offset: float
    path: str
    body: bytes
    headers: dict[str, str]
    tag: tuple[int, int] = (0, 0)  # (parcel, kind index): who it was, for the results


@dataclass(frozen=True)
class Outcome:
    """What became of a request: times are seconds, ``done_at`` a ``time.monotonic()`` value."""

    tag: tuple[int, int]
    offset: float
    lateness: float  # how late the driver sent it
    latency: float  # from the due time to the answer
    status: int  # HTTP status, 0 when no answer came
    error: str  # "" or why there was no answer
    done_at: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def _send(
    client: httpx.AsyncClient, request: Request, due: float, limit: float, in_flight: asyncio.Semaphore
) -> Outcome:
    """Send one request; ``limit`` bounds the whole of it (waiting for a place among the
    requests in flight, sending, the answer), so a phase ends at most ``limit`` seconds after
    its last due time. Time spent waiting for a place counts in the latency, as time spent in
    the server's queue would."""
    started = time.monotonic()
    status, error = 0, ""
    try:
        async with asyncio.timeout(limit), in_flight:
            response = await client.post(request.path, content=request.body, headers=request.headers)
        status = response.status_code
    except (httpx.TimeoutException, TimeoutError):
        error = "timeout"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    done = time.monotonic()
    return Outcome(request.tag, request.offset, started - due, done - due, status, error, done)


async def run_open(
    client: httpx.AsyncClient, requests: Sequence[Request], *, start_at: float, timeout: float = 30
) -> list[Outcome]:
    """Send each request at ``start_at + offset`` (``time.monotonic()``), never waiting for an
    answer before sending the next, each given ``timeout`` seconds in all; returns the outcomes
    in the schedule's order."""
    tasks: list[asyncio.Task[Outcome]] = []
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    for request in requests:
        due = start_at + request.offset
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_send(client, request, due, timeout, in_flight)))
    return list(await asyncio.gather(*tasks))


def stagger(parcels: int, order: Sequence[Sequence[str]], lag: int) -> list[tuple[int, str]]:
    """(parcel, kind) in sending order: the documents of a parcel are ``lag`` steps apart, each
    step sending one document of up to four parcels, so a parcel's documents come in over a
    short while, interleaved with other parcels', as they do from four enterprises.
    ``order[p]`` is the order of parcel ``p``'s documents."""
    sequence = []
    width = max((len(kinds) for kinds in order), default=0)
    for step in range(parcels + (width - 1) * lag):
        for position in range(width):
            parcel = step - position * lag
            if 0 <= parcel < parcels and position < len(order[parcel]):
                sequence.append((parcel, order[parcel][position]))
    return sequence


def rotation(kind: str, size: int) -> int:
    """Where ``kind``'s batch of a chunk starts: entry ``i`` is the chunk's parcel
    ``(i + rotation) % size``."""
    return KINDS.index(kind) * size // len(KINDS)


# --- Plans ----------------------------------------------------------------------------------------


def generator_of(plan: dict[str, Any]) -> ParcelGenerator:
    return ParcelGenerator(
        seed=plan["seed"],
        parties=Parties(**plan["parties"]),
        base_time=datetime.datetime.fromisoformat(plan["base_time"]),
        run_tag=plan["run_tag"],
    )


def _headers(key: str, idempotency_key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def open_requests(plan: dict[str, Any]) -> list[Request]:
    """The whole schedule of an ``open`` plan (every shard's), in sending order."""
    generator = generator_of(plan)
    first, count, rate = plan["first_parcel"], plan["parcels"], float(plan["rate"])
    kinds: list[str] = plan.get("kinds") or list(KINDS)
    parcels = [generator.parcel(first + n) for n in range(count)]
    order = [[kind for kind in parcel.arrival if kind in kinds] for parcel in parcels]
    sequence = stagger(count, order, plan.get("lag", 1))
    paths: dict[str, str] = plan.get("paths") or {kind: f"/api/v1/{PLURAL[kind]}" for kind in KINDS}
    keys: dict[str, str] = plan.get("keys") or {}
    requests = []
    for i, (n, kind) in enumerate(sequence):
        parcel = parcels[n]
        idempotency = f"{kind}-{parcel.order_no}" if plan.get("idempotency", True) else None
        requests.append(
            Request(
                offset=i / rate,
                path=paths[kind],
                body=json.dumps(parcel.documents[kind], ensure_ascii=False).encode(),
                headers=_headers(keys.get(kind, ""), idempotency),
                tag=(first + n, KINDS.index(kind)),
            )
        )
    return requests


def _client(plan: dict[str, Any]) -> httpx.AsyncClient:
    timeout = float(plan.get("timeout", 30))
    return httpx.AsyncClient(
        base_url=plan["base_url"],
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=100),
    )


async def _run_open_plan(plan: dict[str, Any], start_at: float, requests: Sequence[Request]) -> dict[str, Any]:
    async with _client(plan) as client:
        outcomes = await run_open(client, requests, start_at=start_at, timeout=float(plan.get("timeout", 30)))
    return {
        "mode": "open",
        # parcel, kind index, offset, lateness, latency, status, error, done_at
        "outcomes": [
            [
                o.tag[0],
                o.tag[1],
                round(o.offset, 4),
                round(o.lateness, 4),
                round(o.latency, 4),
                o.status,
                o.error,
                o.done_at,
            ]
            for o in outcomes
        ],
    }


class BatchRun:
    """Batches from the four senders (platform, payment company, logistics company, broker),
    ``per_sender`` connections each, until ``duration`` has passed: chunk ``c`` of ``batch_size``
    parcels is sent by each in turn, a sender's batch of a chunk once the previous sender's batch
    of it was answered, as the documents of a parcel follow one another. Each sender goes on with
    its next chunk meanwhile, so the four work at once on different chunks (a pipeline), but no
    further than ``lead_chunks`` ahead of the last sender's answers."""

    def __init__(self, plan: dict[str, Any], start_at: float) -> None:
        self.plan, self.start_at = plan, start_at
        self.generator = generator_of(plan)
        self.size, self.chunks = int(plan["batch_size"]), int(plan["chunks"])
        self.first = int(plan["first_parcel"])
        self.per_sender = int(plan.get("per_sender", 1))
        self.lead = int(plan.get("lead_chunks", 2 * self.per_sender))
        self.deadline = start_at + float(plan["duration"])
        self.answered = {(chunk, kind): asyncio.Event() for chunk in range(self.chunks) for kind in KINDS}
        self.parcels: dict[int, list[Any]] = {}
        # chunk, kind index, latency, status, error, accepted, refused indexes, done_at, problem codes
        self.results: list[list[Any]] = []

    def body(self, chunk: int, kind: str) -> bytes:
        if chunk not in self.parcels:
            self.parcels[chunk] = [self.generator.parcel(self.first + chunk * self.size + i) for i in range(self.size)]
        shift = rotation(kind, self.size)
        ordered = self.parcels[chunk][shift:] + self.parcels[chunk][:shift]
        documents = [{"kind": kind, "document": parcel.documents[kind]} for parcel in ordered]
        return json.dumps({"documents": documents}, ensure_ascii=False).encode()

    async def post(self, client: httpx.AsyncClient, chunk: int, kind: str) -> None:
        content = self.body(chunk, kind)
        headers = _headers(self.plan["keys"][kind], f"batch-{kind}-{self.plan['run_tag']}-{self.first}-{chunk}")
        started = time.monotonic()
        status, error, accepted = 0, "", 0
        refused: list[int] = []
        problems: dict[str, int] = {}
        try:
            async with asyncio.timeout(float(self.plan.get("timeout", 120))):
                response = await client.post("/api/v1/batches", content=content, headers=headers)
            status = response.status_code
            if status == 200:
                answer = response.json()
                accepted = int(answer.get("accepted", 0))
                for entry in answer.get("results", []):
                    if entry.get("status") != "accepted":
                        refused.append(entry["index"])
                        code = str((entry.get("problem") or {}).get("code", "unknown"))
                        problems[code] = problems.get(code, 0) + 1
        except (httpx.TimeoutException, TimeoutError):
            error = "timeout"
        except (httpx.HTTPError, ValueError) as exc:
            error = type(exc).__name__
        done = time.monotonic()
        self.results.append(
            [chunk, KINDS.index(kind), round(done - started, 4), status, error, accepted, refused, done, problems]
        )

    async def sender(self, client: httpx.AsyncClient, kind: str, lane: int) -> None:
        previous = KINDS[KINDS.index(kind) - 1] if kind != KINDS[0] else ""
        last = KINDS[-1]
        for chunk in range(lane, self.chunks, self.per_sender):
            if time.monotonic() >= self.deadline:
                return
            waits = [(chunk, previous)] if previous else []
            if kind != last and chunk >= self.lead:
                # No further ahead of the parcels' last documents than ``lead`` chunks: the
                # documents of parcels whose lists can't come within the run would take the
                # machine from the lists, and flatter the documents per second.
                waits.append((chunk - self.lead, last))
            try:
                for waited in waits:
                    await asyncio.wait_for(self.answered[waited].wait(), timeout=self.deadline - time.monotonic())
            except TimeoutError:
                return
            await self.post(client, chunk, kind)
            self.answered[(chunk, kind)].set()

    async def run(self) -> dict[str, Any]:
        delay = self.start_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        async with _client(self.plan) as client:
            await asyncio.gather(
                *(self.sender(client, kind, lane) for kind in KINDS for lane in range(self.per_sender))
            )
        return {"mode": "batch", "batch_size": self.size, "first_parcel": self.first, "results": self.results}


def run_plan(plan_path: Path, result_path: Path) -> None:
    """Make the plan's bodies, say ``ready``, read the start time from standard input, run, write
    the result, say ``done``."""
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    requests: list[Request] = []
    if plan["mode"] == "open":
        shard, shards = plan.get("shard", [0, 1])
        requests = open_requests(plan)[shard::shards]
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    start_at = float(sys.stdin.readline())
    cpu_before = os.times()
    if plan["mode"] == "open":
        result = asyncio.run(_run_open_plan(plan, start_at, requests))
    else:
        result = asyncio.run(BatchRun(plan, start_at).run())
    cpu_after = os.times()
    result["cpu_seconds"] = round((cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system), 3)
    result_path.write_text(json.dumps(result), encoding="utf-8")
    sys.stdout.write("done\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.load PLAN RESULT`` runs one plan; ``python -m bench.load --serve`` runs
    one plan for each ``PLAN RESULT`` line of its standard input, until it ends (so the
    orchestrator starts its drivers once, not for every phase)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--serve"]:
        for line in sys.stdin:
            if line.strip():
                plan_path, result_path = line.split()
                run_plan(Path(plan_path), Path(result_path))
        return 0
    if len(args) != 2:
        sys.stderr.write("usage: python -m bench.load PLAN.json RESULT.json | --serve\n")
        return 2
    run_plan(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
