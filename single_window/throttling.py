"""Request rates per API key, counted in the shared cache (Redis).

When the cache cannot be reached the API keeps serving: requests are counted in the process
instead (a fixed window per key), so a Redis outage costs the precision of the limit, not
the service. The limit is then per process (n processes let up to n times the rate through)
until the cache answers again. The outage is logged once per ``OUTAGE_LOG_INTERVAL_SECONDS``,
not once per request.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from single_window.models import ApiKey

logger = logging.getLogger(__name__)

# What a cache that is away raises: Redis' errors (connection refused, timeout), and OSError
# for the file-based cache of local runs (a full or vanished disk).
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)
OUTAGE_LOG_INTERVAL_SECONDS = 60.0


class LocalFixedWindow:
    """Counts requests per key in fixed windows of the rate's duration, in this process.

    Thread-safe (gunicorn runs threads). Bounded: past ``max_keys`` the windows that ended
    are forgotten, and if that is not enough, all of them (letting requests through is the
    safe side of a fallback).
    """

    def __init__(self, *, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._lock = threading.Lock()
        # key -> (end of its current window, requests counted in it)
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, *, limit: int, duration: float, now: float) -> float | None:
        """Count one request for ``key``: None when it is allowed, else the seconds to wait."""
        window_end = (now // duration + 1) * duration
        with self._lock:
            end, count = self._windows.get(key, (window_end, 0))
            if end <= now:
                end, count = window_end, 0
            if count >= limit:
                return end - now
            if key not in self._windows and len(self._windows) >= self.max_keys:
                self._forget_ended(now)
            self._windows[key] = (end, count + 1)
            return None

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()

    def _forget_ended(self, now: float) -> None:
        self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        if len(self._windows) >= self.max_keys:
            self._windows.clear()


class CacheOutageLog:
    """Logs that the cache is away at most once per interval, and once that it is back."""

    def __init__(self, *, interval: float = OUTAGE_LOG_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._down = False
        self._next_report = 0.0

    def down(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._down = True
            if now < self._next_report:
                return
            self._next_report = now + self.interval
        logger.warning(
            "throttling: the cache is unreachable (%s: %s); counting requests in this process until it is back",
            type(exc).__name__,
            exc,
        )

    def up(self) -> None:
        if not self._down:  # the common case: no lock taken
            return
        with self._lock:
            if not self._down:
                return
            self._down = False
            self._next_report = 0.0
        logger.warning("throttling: the cache answers again; counting requests in it")


LOCAL_WINDOWS = LocalFixedWindow()
OUTAGE_LOG = CacheOutageLog()


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per key; a key's own ``throttle_rate`` overrides ``API_THROTTLE_RATE``.

    Unauthenticated requests are counted by client address. When the cache raises, counted
    in the process (see the module's docstring).
    """

    scope = "api_key"
    # Set when the request was counted in the process: what ``wait`` answers then.
    local_wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        self.rate = (api_key.throttle_rate if api_key else "") or settings.API_THROTTLE_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            allowed = super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            OUTAGE_LOG.down(exc)
            return self._allow_locally(request, view)
        OUTAGE_LOG.up()
        return allowed

    def _allow_locally(self, request: Request, view: Any) -> bool:
        if self.num_requests is None or not self.duration:
            return True
        self.local_wait = LOCAL_WINDOWS.hit(
            self.get_cache_key(request, view), limit=self.num_requests, duration=self.duration, now=self.timer()
        )
        return self.local_wait is None

    def wait(self) -> float | None:
        if self.local_wait is not None:
            return self.local_wait
        return super().wait()

    def get_rate(self) -> str:
        return str(settings.API_THROTTLE_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str:
        ident = f"key-{request.auth.pk}" if isinstance(request.auth, ApiKey) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
