"""Where a batch's time and queries go, inside one process.

``python -m bench.djangorun bench.profile KEYS.json [--chunks N] [--size N] [--where RE]
[--out DIR]``, in the stack's environment (the production settings, a database
``bench.provision`` registered, whose keys are in KEYS.json): sends ``--chunks`` chunks of
``--size`` parcels as the bench's batch phase does (each kind's batch of a chunk in turn,
``POST /api/v1/batches``) through Django's test client, counts the statements of each request
(a ``connection.execute_wrapper``) and profiles the requests with cProfile.

It prints the statements per document of each kind, the most frequent statements, where the
statements matching ``--where`` come from, and the most expensive functions; it writes
``profile.pstats`` and ``queries.json`` to ``--out``. What the Celery worker does afterwards is
not in it: this is the web side of intake.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import json
import pstats
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client

from bench.enterprises import SENDER, parties_dict
from bench.load import PLURAL, generator_of, rotation
from bench.parcels import KINDS

ROOT = Path(__file__).resolve().parent.parent
NUMBERS = re.compile(r"\b\d+(\.\d+)?\b|'[^']*'")


def _shape(sql: str) -> str:
    """A statement with its literals taken out, so repeats of one statement count together."""
    return NUMBERS.sub("?", sql)[:160]


def _caller() -> str:
    """The project's frames that led to a statement, innermost first."""
    frames = [
        f"{frame.filename.removeprefix(str(ROOT) + '/')}:{frame.lineno}"
        for frame in traceback.extract_stack()
        if frame.filename.startswith(str(ROOT)) and "/.venv/" not in frame.filename and "/bench/" not in frame.filename
    ]
    return " < ".join(reversed(frames[-4:]))


@dataclass
class Tally:
    """What the requests did: statements by kind and by shape, callers, outcomes."""

    where: re.Pattern[str] | None
    per_kind: dict[str, list[int]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    shapes: Counter[str] = field(default_factory=Counter)
    callers: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    def counter(self, seen: list[str]) -> Callable[..., Any]:
        def count(execute: Callable[..., Any], sql: str, *rest: Any) -> Any:
            seen.append(sql)
            if self.where is not None and self.where.search(sql):
                self.callers[_caller()] += 1
            return execute(sql, *rest)

        return count

    def answer(self, kind: str, status: int, body: bytes, *, single: bool) -> None:
        if single:
            self.outcomes[f"{kind}:{status}"] += 1
            if status >= 400:
                sys.stderr.write(f"{kind} {status} {body[:600].decode(errors='replace')}\n")
            return
        if status != 200:
            self.outcomes[f"batch {kind}:{status}"] += 1
            sys.stderr.write(f"{kind} {status} {body[:600].decode(errors='replace')}\n")
            return
        for entry in json.loads(body).get("results", []):
            code = (entry.get("problem") or {}).get("code", "")
            self.outcomes[f"{entry.get('status', '?')}:{code}"] += 1


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.profile")
    parser.add_argument("keys", type=Path)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("var/bench/profile"))
    parser.add_argument("--where", default="", help="print where the statements matching this pattern come from")
    parser.add_argument("--single", action="store_true", help="each document in a request of its own")
    parser.add_argument(
        "--no-cprofile", action="store_true", help="time without cProfile (to run under a sampling profiler)"
    )
    args = parser.parse_args(argv)
    keys: dict[str, str] = json.loads(args.keys.read_text(encoding="utf-8"))["keys"]
    tag = f"P{int(time.time()) % 100_000:05d}"
    generator = generator_of(
        {
            "seed": args.seed,
            "parties": parties_dict(),
            "base_time": datetime.datetime.now(datetime.UTC).isoformat(),
            "run_tag": tag,
        }
    )
    client = Client(HTTP_HOST="127.0.0.1")
    tally = Tally(where=re.compile(args.where) if args.where else None)
    profile = None if args.no_cprofile else cProfile.Profile()
    elapsed = 0.0
    for chunk in range(args.chunks):
        parcels = [generator.parcel(chunk * args.size + i) for i in range(args.size)]
        for kind in KINDS:
            shift = rotation(kind, args.size)
            ordered = parcels[shift:] + parcels[:shift]
            if args.single:
                requests = [
                    (f"/api/v1/{PLURAL[kind]}", parcel.documents[kind], f"profile-{tag}-{kind}-{parcel.order_no}")
                    for parcel in ordered
                ]
            else:
                body = {"documents": [{"kind": kind, "document": p.documents[kind]} for p in ordered]}
                requests = [("/api/v1/batches", body, f"profile-{tag}-{kind}-{chunk}")]
            seen: list[str] = []
            started = time.perf_counter()
            with connection.execute_wrapper(tally.counter(seen)):
                for path, body, idempotency_key in requests:
                    if profile is not None:
                        profile.enable()
                    response = client.post(
                        path,
                        data=json.dumps(body, ensure_ascii=False),
                        content_type="application/json",
                        headers={"authorization": f"Bearer {keys[SENDER[kind]]}", "idempotency-key": idempotency_key},
                    )
                    if profile is not None:
                        profile.disable()
                    tally.answer(kind, response.status_code, response.content, single=args.single)
            elapsed += time.perf_counter() - started
            tally.per_kind[kind].append(len(seen))
            tally.shapes.update(_shape(sql) for sql in seen)
    _report(args, tally, profile, elapsed)
    return 0


def _report(args: argparse.Namespace, tally: Tally, profile: cProfile.Profile | None, elapsed: float) -> None:
    documents = args.chunks * args.size * len(KINDS)
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "documents": documents,
        "seconds": round(elapsed, 3),
        "cprofile": profile is not None,
        "documents_per_s": round(documents / elapsed, 1),
        "queries_per_document": round(sum(sum(n) for n in tally.per_kind.values()) / documents, 2),
        "queries_per_document_by_kind": {
            kind: round(sum(n) / (len(n) * args.size), 2) for kind, n in tally.per_kind.items()
        },
        "outcomes": dict(tally.outcomes),
        "top_statements": tally.shapes.most_common(40),
        "callers": tally.callers.most_common(40),
    }
    (args.out / "queries.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    out = io.StringIO()
    out.write(json.dumps({k: v for k, v in result.items() if k not in ("top_statements", "callers")}, indent=1))
    out.write("\n")
    for shape, count in tally.shapes.most_common(25):
        out.write(f"{count / documents:6.2f}/doc  {shape}\n")
    for caller, count in tally.callers.most_common(20):
        out.write(f"{count / documents:6.2f}/doc  {caller}\n")
    if profile is not None:
        profile.dump_stats(args.out / "profile.pstats")
        stats = pstats.Stats(str(args.out / "profile.pstats"), stream=out)
        stats.sort_stats("cumulative").print_stats(str(ROOT) + r"/(?!\.venv)", 45)
    sys.stdout.write(out.getvalue())
