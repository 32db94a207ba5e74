"""The benchmark's webhook endpoint: it records when each list's status change arrives.

A threaded HTTP server on the loopback that checks the Standard Webhooks signature of each
delivery (``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``), answers 204
at once, and keeps the first arrival of each event (a redelivery keeps its ``webhook-id``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Arrival:
    at: float  # time.monotonic()
    order_no: str
    from_status: str
    to_status: str


def signature_valid(*, secret: str, message_id: str, timestamp: str, body: bytes, header: str) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    return any(hmac.compare_digest("v1," + expected.decode(), candidate) for candidate in header.split() if candidate)


class Receiver:
    """``start()`` it, register ``url`` as an endpoint, give it the endpoint's ``secret``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.secret = ""
        self.arrivals: dict[str, Arrival] = {}  # by webhook-id
        self.duplicates = 0
        self.refused = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                at = time.monotonic()
                message_id = self.headers.get("webhook-id", "")
                if receiver.secret and not signature_valid(
                    secret=receiver.secret,
                    message_id=message_id,
                    timestamp=self.headers.get("webhook-timestamp", ""),
                    body=body,
                    header=self.headers.get("webhook-signature", ""),
                ):
                    with receiver._lock:
                        receiver.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.record(message_id, at, body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="bench-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/events"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def record(self, message_id: str, at: float, body: bytes) -> None:
        try:
            event = json.loads(body)
            data = event.get("data") or {}
            arrival = Arrival(
                at, str(data.get("order_no", "")), str(data.get("from_status", "")), str(data.get("to_status", ""))
            )
        except (ValueError, AttributeError):
            return
        with self._lock:
            if message_id in self.arrivals:
                self.duplicates += 1
                return
            self.arrivals[message_id] = arrival

    def by_order(self, to_status: str) -> dict[str, float]:
        """The first arrival of a change to ``to_status``, by order number."""
        with self._lock:
            found: dict[str, float] = {}
            for arrival in self.arrivals.values():
                if arrival.to_status == to_status and arrival.at < found.get(arrival.order_no, float("inf")):
                    found[arrival.order_no] = arrival.at
            return found

    def statuses(self) -> dict[str, str]:
        """Each order's latest status change by arrival."""
        with self._lock:
            latest: dict[str, Arrival] = {}
            for arrival in self.arrivals.values():
                if arrival.order_no not in latest or arrival.at >= latest[arrival.order_no].at:
                    latest[arrival.order_no] = arrival
            return {order_no: arrival.to_status for order_no, arrival in latest.items()}
