"""A webhook receiver over real HTTP, for the outbox and webhook tests.

A ``ThreadingHTTPServer`` on 127.0.0.1 and a free port. It records every request and answers
from a script of statuses (``answer(500, 500, 200)``), then 200 once the script is used up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class FakeReceiver:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._script: list[int] = []
        self.requests: list[Received] = []
        self.response_body = b'{"received": true}'
        self.delay = 0.0

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def answer(self, *statuses: int) -> None:
        with self._lock:
            self._script.extend(statuses)

    def _next_status(self) -> int:
        with self._lock:
            return self._script.pop(0) if self._script else 200

    def record(self, received: Received) -> int:
        with self._lock:
            self.requests.append(received)
        return self._next_status()


def _handler(receiver_ref: list[FakeReceiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = receiver_ref[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.record(
                Received(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
            )
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(receiver.response_body)))
            self.end_headers()
            self.wfile.write(receiver.response_body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            return

    return Handler


@contextmanager
def fake_receiver() -> Iterator[FakeReceiver]:
    ref: list[FakeReceiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.daemon_threads = True
    ref.append(FakeReceiver(server))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield ref[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
