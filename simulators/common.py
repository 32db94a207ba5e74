"""What both simulators need: settings from the command line or the environment, Standard
Webhooks signing, callbacks with retries, a small scheduler, a log of messages, an HTTP server.

Nothing here comes from the product: the simulators must not share its code.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import datetime
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from zoneinfo import ZoneInfo

import httpx

logger = logging.getLogger("simulators")

CHINA_STANDARD_TIME = ZoneInfo("Asia/Shanghai")
MAX_BODY_BYTES = 10 * 1024 * 1024


# --- Settings ----------------------------------------------------------------------------------


def env_name(prefix: str, option: str) -> str:
    """``--callback-url`` of the customs simulator reads ``SIM_CUSTOMS_CALLBACK_URL``."""
    return f"{prefix}_{option.lstrip('-').replace('-', '_')}".upper()


def add_option(
    parser: argparse.ArgumentParser,
    prefix: str,
    option: str,
    *,
    default: str | None,
    help_text: str,
    kind: Callable[[str], Any] = str,
) -> None:
    """An option whose default comes from the environment variable of the same name."""
    variable = env_name(prefix, option)
    value = os.environ.get(variable, default)
    parser.add_argument(
        option,
        type=kind,
        default=kind(value) if value is not None else None,
        help=f"{help_text} (env {variable}; default {default!r})",
    )


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


# --- Time and ids ------------------------------------------------------------------------------


def now_cst() -> datetime.datetime:
    return datetime.datetime.now(tz=CHINA_STANDARD_TIME)


def return_time(moment: datetime.datetime | None = None) -> str:
    """Customs' returnTime: YYYYMMDDhhmmssSSS, China Standard Time."""
    moment = moment or now_cst()
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"


def new_guid() -> str:
    """A 36-character guid, upper case, as the customs messages carry."""
    return str(uuid.uuid4()).upper()


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def stable_webhook_id(*parts: str) -> str:
    """The same id for the same message: a repeated request is the same message."""
    return "msg_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


# --- Standard Webhooks ---------------------------------------------------------------------------


def secret_bytes(secret: str) -> bytes:
    """The key of a ``whsec_<base64>`` secret: the base64-decoded part after the prefix."""
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("the webhook secret must be whsec_ followed by base64") from exc


def webhook_signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(secret: str, webhook_id: str, body: bytes, content_type: str) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(secret, webhook_id, timestamp, body),
        "content-type": content_type,
    }


# --- The message log (GET /messages) --------------------------------------------------------------


class MessageLog:
    """What a simulator received and sent, newest last, bounded; safe across threads."""

    def __init__(self, limit: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._received: collections.deque[dict[str, Any]] = collections.deque(maxlen=limit)
        self._sent: collections.deque[dict[str, Any]] = collections.deque(maxlen=limit)

    def received(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._received.append({"at": now_cst().isoformat(), **entry})

    def sent(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._sent.append({"at": now_cst().isoformat(), **entry})

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {"received": list(self._received), "sent": list(self._sent)}


# --- Callbacks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """The outcome of one callback, after its retries."""

    webhook_id: str
    delivered: bool
    attempts: int
    status_code: int | None
    error: str = ""


class CallbackSender:
    """POSTs signed callbacks; retries a failure (network error or non-2xx) with backoff.

    Attempt n (from 1) that fails waits ``backoff * 2**(n-1)`` seconds before the next one;
    ``attempts`` in all. Every attempt is signed afresh (new timestamp) under the same id.
    """

    def __init__(self, *, url: str, secret: str, attempts: int = 4, backoff: float = 0.5, timeout: float = 5.0) -> None:
        secret_bytes(secret)  # refuse a malformed secret at start, not at the first callback
        self.url = url
        self.secret = secret
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._client = httpx.Client(timeout=timeout)

    def send(self, body: bytes, *, webhook_id: str, content_type: str) -> Delivery:
        status: int | None = None
        error = ""
        for attempt in range(1, self.attempts + 1):
            headers = webhook_headers(self.secret, webhook_id, body, content_type)
            try:
                response = self._client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            else:
                status, error = response.status_code, ""
                if response.is_success:
                    return Delivery(webhook_id, delivered=True, attempts=attempt, status_code=status)
                error = f"HTTP {status}"
            logger.warning("callback %s attempt %d failed: %s", webhook_id, attempt, error)
            if attempt < self.attempts:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        return Delivery(webhook_id, delivered=False, attempts=self.attempts, status_code=status, error=error)

    def close(self) -> None:
        self._client.close()


# --- Scheduler ----------------------------------------------------------------------------------


class Scheduler:
    """Runs callables after a delay on a pool of worker threads (no thread per timer)."""

    def __init__(self, workers: int = 32) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sim-worker")
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._condition = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sim-scheduler", daemon=True)
        self._thread.start()

    def call_later(self, delay: float, task: Callable[[], None]) -> None:
        with self._condition:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._counter), task))
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._condition.wait(timeout)
                if self._stopped:
                    return
                _, _, task = heapq.heappop(self._heap)
            self._pool.submit(self._guarded, task)

    @staticmethod
    def _guarded(task: Callable[[], None]) -> None:
        try:
            task()
        except Exception:  # a task's failure must not stop the others
            logger.exception("scheduled task failed")

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)


# --- HTTP server --------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    """Routes by method and path to the server's ``routes``; quiet unless told otherwise."""

    server: SimulatorServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        route = self.server.routes.get((method, path))
        if route is None:
            self.respond(404, json_body({"error": "not found"}), "application/json")
            return
        route(self)

    def read_body(self) -> bytes | None:
        """The request body, or None (having answered 411/413) when it can't be read."""
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self.respond(411, json_body({"error": "Content-Length required"}), "application/json")
            return None
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            self.respond(413, json_body({"error": "body too large"}), "application/json")
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def respond(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        logger.debug("%s %s", self.address_string(), format % args)


Route = Callable[[Handler], None]


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], routes: Mapping[tuple[str, str], Route]) -> None:
        super().__init__(address, Handler)
        self.routes = dict(routes)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def json_body(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=None).encode()


def start_thread(server: SimulatorServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sim-http-{server.port}", daemon=True
    )
    thread.start()
    return thread


def serve_until_interrupted(server: SimulatorServer, name: str, on_stop: Sequence[Callable[[], None]]) -> None:
    logger.info("%s simulator listening on http://%s:%d", name, server.server_address[0], server.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("%s simulator stopping", name)
    finally:
        server.server_close()
        for stop in on_stop:
            stop()


class SimulatorProcess:
    """What both simulators share: an HTTP server, a scheduler of callbacks and a sender.

    A subclass sets ``name`` and, in its ``__init__``, ``server``, ``scheduler`` and ``sender``.
    """

    name: str
    server: SimulatorServer
    scheduler: Scheduler
    sender: CallbackSender

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> Self:
        """Serve on a background thread (tests); ``serve`` is the blocking form."""
        start_thread(self.server)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.scheduler.stop()
        self.sender.close()

    def serve(self) -> None:
        serve_until_interrupted(self.server, self.name, [self.scheduler.stop, self.sender.close])
