"""The benchmark's load driver (``bench/load.py``): an open model, against a local HTTP server.

No Django: a threaded ``http.server`` that answers slowly stands in for the stack, so the tests
see whether requests leave on schedule whatever the answers do.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from bench.load import Request, run_open, stagger
from bench.receiver import Receiver, signature_valid
from bench.stats import open_step
from single_window.standard_webhooks import sign

ANSWER_DELAY = 0.4


class SlowServer:
    """Records when each request arrived (``time.monotonic()``) and answers after ``ANSWER_DELAY``."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                server.arrivals.append((self.path, time.monotonic()))
                self.rfile.read(int(self.headers.get("content-length") or 0))
                time.sleep(ANSWER_DELAY)
                self.send_response(201)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    server = SlowServer()
    thread = threading.Thread(target=server.http.serve_forever, daemon=True)
    thread.start()
    yield server
    server.http.shutdown()
    server.http.server_close()


def test_requests_leave_on_schedule_while_earlier_answers_are_still_awaited(slow_server: SlowServer) -> None:
    rate, count = 40.0, 40
    requests = [Request(offset=i / rate, path=f"/r/{i}", body=b"{}", headers={}, tag=(i, 0)) for i in range(count)]

    async def drive() -> tuple[float, list[Any]]:
        async with httpx.AsyncClient(base_url=slow_server.url, timeout=10) as client:
            start_at = time.monotonic() + 0.2
            return start_at, await run_open(client, requests, start_at=start_at)

    start_at, outcomes = asyncio.run(drive())

    arrived = dict(slow_server.arrivals)
    assert len(arrived) == count
    # Each request reached the server at its due time: 16 were due before the first answer came.
    late = [arrived[f"/r/{i}"] - (start_at + i / rate) for i in range(count)]
    assert max(late) < 0.15, late
    assert all(o.status == 201 for o in outcomes)
    # Latency counts from the due time, so it includes the server's delay and any lateness.
    assert all(o.latency >= ANSWER_DELAY for o in outcomes)
    assert max(o.done_at for o in outcomes) - start_at < count / rate + ANSWER_DELAY + 0.5


def test_a_parcels_documents_follow_one_another_lag_steps_apart() -> None:
    order = [
        ("order", "payment", "waybill", "inventory"),
        ("inventory", "order", "payment", "waybill"),
        *([("order", "payment", "waybill", "inventory")] * 8),
    ]
    sequence = stagger(10, order, lag=3)
    assert sorted(sequence) == sorted((p, kind) for p in range(10) for kind in order[p])
    for parcel in range(10):
        positions = [i for i, (p, _kind) in enumerate(sequence) if p == parcel]
        assert [sequence[i][1] for i in positions] == list(order[parcel])
        assert min(b - a for a, b in itertools.pairwise(positions)) >= 3


def test_a_step_is_sustained_only_with_few_errors_and_answers_that_keep_up() -> None:
    start = 100.0

    def outcomes(latency: float, *, errors: int = 0, growing: bool = False) -> list[list[Any]]:
        rows = []
        for i in range(100):
            wait = latency + (i * 0.1 if growing else 0)
            status = 500 if i < errors else 201
            rows.append([i, 0, i / 20, 0.0, wait, status, "", start + i / 20 + wait])
        return rows

    kept_up = open_step(outcomes(0.05), rate=20, duration=5, start_at=start)
    assert kept_up["sustained"]
    assert kept_up["achieved_per_s"] == 20
    assert kept_up["latency_ms"]["p50"] == 50
    assert not open_step(outcomes(0.05, errors=2), rate=20, duration=5, start_at=start)["sustained"]
    falling_behind = open_step(outcomes(0.05, growing=True), rate=20, duration=5, start_at=start)
    assert not falling_behind["sustained"]
    assert falling_behind["achieved_per_s"] < 20


def test_the_receiver_keeps_signed_status_changes_once() -> None:
    receiver = Receiver()
    receiver.secret = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGhlLWJlbmNo"
    receiver.start()
    try:
        body = b'{"type": "inventory.status_changed", "data": {"order_no": "BN1", "to_status": "released"}}'
        stamp = int(time.time())
        signature = sign(secret=receiver.secret, message_id="msg_1", timestamp=stamp, body=body)
        headers = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp), "webhook-signature": signature}
        assert signature_valid(
            secret=receiver.secret, message_id="msg_1", timestamp=str(stamp), body=body, header=signature
        )
        assert httpx.post(receiver.url, content=body, headers=headers).status_code == 204
        assert httpx.post(receiver.url, content=body, headers=headers).status_code == 204
        forged = headers | {"webhook-signature": "v1,AAAA"}
        assert httpx.post(receiver.url, content=body, headers=forged).status_code == 401
    finally:
        receiver.stop()
    assert list(receiver.by_order("released")) == ["BN1"]
    assert (receiver.duplicates, receiver.refused) == (1, 1)
