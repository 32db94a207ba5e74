"""The HTTP client: documents in, the parcel's trace and the event feed out."""

from __future__ import annotations

import datetime
import email.utils
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal, TypeAlias

import httpx

from single_window_client import __version__
from single_window_client.errors import ProblemError

API_PREFIX = "/api/v1"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# A request still running under the same Idempotency-Key: the first answer will be replayed.
RETRY_CODES = frozenset({"idempotency_request_in_flight"})

Json: TypeAlias = dict[str, Any]
DocumentKind: TypeAlias = Literal["order", "payment", "waybill", "inventory"]
EventPredicate: TypeAlias = Callable[[Json], bool]


def retry_after_seconds(value: str | None, *, now: datetime.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    current = now or datetime.datetime.now(datetime.UTC)
    return max(0.0, (when - current).total_seconds())


class Client:
    """A Single Window API client for one enterprise's key.

    ``Client("https://sw.example.com", "sw_xxxxxxxx_...")``. Every POST carries an
    ``Idempotency-Key`` (a fresh uuid4 unless one is given), the same on each retry, so a
    retried submission is stored once. 429, 502, 503, 504 and connection errors are retried up
    to ``max_retries`` times, waiting what ``Retry-After`` asks (seconds or an HTTP date) or an
    exponential backoff, never more than ``max_retry_wait`` seconds at a time. Any other answer
    of 400 or more raises ``ProblemError``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        backoff: float = 0.5,
        accept_language: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json, application/problem+json",
            "User-Agent": f"single-window-client/{__version__}",
        }
        if accept_language:
            headers["Accept-Language"] = accept_language
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff
        self._sleep = sleep
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    # --- Plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _wait_before_retry(self, attempt: int, response: httpx.Response | None) -> float:
        asked = retry_after_seconds(response.headers.get("Retry-After")) if response is not None else None
        wait = asked if asked is not None else self.backoff * 2**attempt
        return min(wait, self.max_retry_wait)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one call (retrying as described on the class); the answer when below 400."""
        headers: dict[str, str] = {}
        if method.upper() == "POST":
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        url = path if path.startswith("/api/") else API_PREFIX + path
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._http.request(method, url, json=json, params=params, headers=headers)
            except httpx.TransportError:
                if attempt >= self.max_retries:
                    raise
            else:
                if response.status_code < 400:
                    return response
                if attempt >= self.max_retries or not self._retryable(response):
                    raise ProblemError.from_response(
                        response.status_code,
                        response.headers.get("Content-Type", ""),
                        response.content,
                        response.reason_phrase,
                    )
            self._sleep(self._wait_before_retry(attempt, response))
            attempt += 1

    @staticmethod
    def _retryable(response: httpx.Response) -> bool:
        if response.status_code in RETRY_STATUSES:
            return True
        if response.status_code == 409:
            problem = ProblemError.from_response(409, response.headers.get("Content-Type", ""), response.content)
            return problem.code in RETRY_CODES
        return False

    def _json(self, method: str, path: str, **kwargs: Any) -> Json:
        body: Json = self.request(method, path, **kwargs).json()
        return body

    # --- Documents --------------------------------------------------------------------------

    def submit(self, kind: DocumentKind, document: Json, *, idempotency_key: str | None = None) -> Json:
        """Submit (or change) one document of ``kind``; the stored document as answered."""
        plural = {"order": "orders", "payment": "payments", "waybill": "waybills", "inventory": "inventories"}[kind]
        return self._json("POST", f"/{plural}", json=document, idempotency_key=idempotency_key)

    def submit_order(self, document: Json, *, idempotency_key: str | None = None) -> Json:
        """An order (CEB311), sent by the platform or the e-commerce enterprise."""
        return self.submit("order", document, idempotency_key=idempotency_key)

    def submit_payment(self, document: Json, *, idempotency_key: str | None = None) -> Json:
        """A payment (CEB411), sent by the payment company."""
        return self.submit("payment", document, idempotency_key=idempotency_key)

    def submit_waybill(self, document: Json, *, idempotency_key: str | None = None) -> Json:
        """A waybill (CEB511), sent by the logistics company."""
        return self.submit("waybill", document, idempotency_key=idempotency_key)

    def submit_inventory(self, document: Json, *, idempotency_key: str | None = None) -> Json:
        """A declaration list (CEB621), sent by the declaring agent; answers its status and ``waiting_for``."""
        return self.submit("inventory", document, idempotency_key=idempotency_key)

    def submit_batch(
        self,
        documents: Iterable[tuple[DocumentKind, Json] | Json],
        *,
        idempotency_key: str | None = None,
    ) -> Json:
        """Up to 1,000 documents in one call: ``(kind, document)`` pairs or ``{"kind", "document"}``
        dicts. The answer counts ``accepted`` and ``refused`` and has one of ``results`` per
        document, in order: accepted with its id, or refused with its problem (no raise)."""
        entries = [
            {"kind": entry[0], "document": entry[1]} if isinstance(entry, tuple) else entry for entry in documents
        ]
        return self._json("POST", "/batches", json={"documents": entries}, idempotency_key=idempotency_key)

    # --- Reading ----------------------------------------------------------------------------

    def get_trace(self, ebp_code: str, order_no: str) -> Json:
        """Everything that happened to the parcel of ``ebp_code`` + ``order_no``, in order."""
        return self._json("GET", f"/orders/{ebp_code}/{order_no}/trace")

    def events_page(self, after: int = 0, *, limit: int = 100) -> Json:
        """One page of the feed: ``{"events": [...], "next_after": n}``."""
        return self._json("GET", "/events", params={"after": after, "limit": limit})

    def events(self, after: int | None = None, *, limit: int = 100) -> Iterator[Json]:
        """The caller's events after sequence ``after`` (0: from the start), page after page,
        until the feed has nothing newer. Keep the last event's ``sequence`` to read on later."""
        cursor = after or 0
        while True:
            page = self.events_page(cursor, limit=limit)
            yield from page["events"]
            if not page["events"] or page["next_after"] == cursor:
                return
            cursor = page["next_after"]

    def wait_for_event(
        self,
        type: str,  # noqa: A002 - the event's member
        predicate: EventPredicate | None = None,
        timeout: float = 60.0,
        *,
        after: int | None = None,
        poll_interval: float = 1.0,
    ) -> Json:
        """The first event of ``type`` for which ``predicate(event)`` holds, reading the feed from
        ``after`` and polling it until ``timeout`` seconds have passed (then ``TimeoutError``)."""
        cursor = after or 0
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events(cursor):
                cursor = event["sequence"]
                if event["type"] == type and (predicate is None or predicate(event)):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                msg = f"no {type} event within {timeout} s"
                raise TimeoutError(msg)
            self._sleep(min(poll_interval, remaining))

    def last_sequence(self) -> int:
        """The sequence of the caller's newest event: pass it as ``after`` to wait for new ones only."""
        cursor = 0
        for event in self.events(0, limit=1000):
            cursor = event["sequence"]
        return cursor
