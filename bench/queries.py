"""Queries per document, counted inside the web process.

``python -m bench.djangorun bench.queries PLAN.json RESULT.json``, in the stack's environment
(the production settings, the run's database): sends the plan's parcels through Django's test
client, which runs the whole request (middleware, authentication, throttling, idempotency, the
view, the commit hooks) in this process, and counts each request's queries with
``CaptureQueriesContext``; then the same for ``batch_parcels`` parcels sent in batches (one
``POST /api/v1/batches`` per kind), which the target of under 2 queries per document is about.
What the Celery worker does afterwards (dispatch, receipts, events) is not counted here:
``pg_stat_statements`` counts it, when PostgreSQL loads the extension (``bench.run`` uses it
then).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.load import PLURAL, generator_of, rotation
from bench.parcels import KINDS


def _batch(plan: dict[str, Any], generator: Any, keys: dict[str, str], client: Client) -> dict[str, Any]:
    """The same count for ``batch_parcels`` parcels sent as the batch phase sends them: each
    kind's documents in one ``POST /api/v1/batches`` (lists last, so they are matched)."""
    first, size = int(plan["batch_first_parcel"]), int(plan["batch_parcels"])
    parcels = [generator.parcel(first + i) for i in range(size)]
    per_kind: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for kind in KINDS:
        shift = rotation(kind, size)
        ordered = parcels[shift:] + parcels[:shift]
        body = {"documents": [{"kind": kind, "document": parcel.documents[kind]} for parcel in ordered]}
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/api/v1/batches",
                data=json.dumps(body),
                content_type="application/json",
                headers={"authorization": f"Bearer {keys[kind]}", "idempotency-key": f"q-batch-{kind}-{first}"},
            )
        statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
        per_kind[kind] = len(captured)
    return {
        "parcels": size,
        "statuses": statuses,
        "per_kind_per_document": {kind: round(n / size, 2) for kind, n in per_kind.items()},
        "per_document_mean": round(sum(per_kind.values()) / (size * len(KINDS)), 2),
    }


def main(argv: Sequence[str]) -> int:
    plan = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    generator = generator_of(plan)
    keys: dict[str, str] = plan["keys"]
    client = Client(HTTP_HOST="127.0.0.1")
    counts: dict[str, list[int]] = {kind: [] for kind in KINDS}
    per_parcel: list[int] = []
    statuses: dict[str, int] = {}
    for parcel in generator.parcels(plan["first_parcel"], plan["parcels"]):
        total = 0
        for kind in parcel.arrival:
            with CaptureQueriesContext(connection) as captured:
                response = client.post(
                    f"/api/v1/{PLURAL[kind]}",
                    data=json.dumps(parcel.documents[kind]),
                    content_type="application/json",
                    headers={"authorization": f"Bearer {keys[kind]}", "idempotency-key": f"q-{kind}-{parcel.order_no}"},
                )
            statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
            counts[kind].append(len(captured))
            total += len(captured)
        per_parcel.append(total)
    result: dict[str, Any] = {
        "method": "in-process: django.test.utils.CaptureQueriesContext around each request (web side only)",
        "statuses": statuses,
        "per_kind": {
            kind: {"mean": round(statistics.fmean(n), 1), "min": min(n), "max": max(n)}
            for kind, n in counts.items()
            if n
        },
        "per_parcel_mean": round(statistics.fmean(per_parcel), 1) if per_parcel else None,
        "per_document_mean": round(sum(per_parcel) / max(1, sum(len(n) for n in counts.values())), 1),
    }
    if plan.get("batch_parcels"):
        result["batch"] = _batch(plan, generator, keys, client)
    Path(argv[1]).write_text(json.dumps(result), encoding="utf-8")
    return 0
