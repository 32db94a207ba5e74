"""Rows that change seldom and are read on every request, kept a short while in each process.

A ``ProcessCache`` is a bounded LRU of immutable values. How stale a value may be:

1. A value is served at most ``seconds()`` after the database gave it, whatever else happens:
   Redis away, or a change that sends no signal (``QuerySet.update``, SQL). This is the bound;
   ``0`` turns the cache off.
2. ``changed()`` (the owner calls it from its models' ``post_save``/``post_delete`` and from its
   services) empties this process's cache at once and again when the transaction commits; the
   commit also writes a new token under ``generation_key`` in the shared cache (Redis).
3. Each process reads that token at most every ``check_seconds()``, and only while it reads from
   its cache; a new token empties the cache. A change made in another process is so seen
   within about that interval while Redis answers: one Redis round trip per process per
   interval, not one per request. When Redis can't be reached the check is skipped (logged
   once a minute) and the bound of (1) holds alone.
4. A transaction that called ``changed()`` reads the database, not the cache, until it commits:
   it sees its own writes, and nothing it wrote is cached before it is committed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a shared cache that is away raises: Redis' errors (connection refused, timeout), and
# OSError for the file-based cache of local runs (a full or vanished disk).
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)
OUTAGE_LOG_INTERVAL_SECONDS = 60.0
MAX_ENTRIES = 10_000

_UNSEEN = object()


@dataclass(frozen=True)
class Ticket:
    """Taken before a read of the database: when it began, and the cache's epoch then."""

    read_at: float
    epoch: int


class ProcessCache:
    """A bounded, thread-safe LRU of immutable values, each kept ``seconds()`` from its read.

    A value is stored only if nothing emptied the cache since its read began (``ticket``): a
    read that raced a change is not kept.
    """

    def __init__(
        self,
        *,
        name: str,
        seconds: Callable[[], float],
        check_seconds: Callable[[], float],
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.generation_key = f"process-cache:{name}:generation"
        self.seconds = seconds
        self.check_seconds = check_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._lock = threading.Lock()
        # key -> (expires at, by ``clock``; value)
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._epoch = 0
        self._token: object = _UNSEEN
        self._next_check = float("-inf")
        self._next_outage_log = float("-inf")

    # --- Reading and storing -------------------------------------------------------------

    def get(self, key: Hashable) -> Any | None:
        """The value kept under ``key``, or None (absent, expired, or the cache is bypassed)."""
        if self._bypassed():
            return None
        self._check_generation()
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def ticket(self) -> Ticket:
        """Take before reading the database what ``put`` will store."""
        with self._lock:
            return Ticket(read_at=self.clock(), epoch=self._epoch)

    def put(self, key: Hashable, value: Any, ticket: Ticket) -> None:
        """Keep ``value`` until ``seconds()`` after ``ticket.read_at``, unless the cache was
        emptied since the ticket was taken."""
        if self._bypassed():
            return
        expires = ticket.read_at + float(self.seconds())
        with self._lock:
            if ticket.epoch != self._epoch or expires <= self.clock():
                return
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def fetch(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The value under ``key``, loaded by ``load()`` (and kept) when it isn't there."""
        value = self.get(key)
        if value is None:
            ticket = self.ticket()
            value = load()
            self.put(key, value, ticket)
        return value

    def replace(self, key: Hashable, change: Callable[[Any], Any]) -> None:
        """Replace the value under ``key`` by ``change(value)``, keeping its expiry."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries[key] = (entry[0], change(entry[1]))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._epoch += 1

    def reset(self) -> None:
        """Forget everything, the last token seen included (a test's fresh process)."""
        with self._lock:
            self._entries.clear()
            self._epoch += 1
            self._token = _UNSEEN
            self._next_check = float("-inf")
            self._next_outage_log = float("-inf")

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    # --- Changes ---------------------------------------------------------------------------

    def changed(self, **_signal: Any) -> None:
        """What the cache holds changed: empty it now and when the transaction commits, and
        tell the other processes then. Usable as a ``post_save``/``post_delete`` receiver."""
        self.clear()
        if not self._changed_in_this_transaction():
            transaction.on_commit(self._after_commit)

    def publish_generation(self) -> None:
        """Tell every process to empty its cache (a new token in the shared cache)."""
        try:
            cache.set(self.generation_key, uuid.uuid4().hex, timeout=None)
        except CACHE_ERRORS as exc:
            self._outage(exc, self.clock())

    def _after_commit(self) -> None:
        self.clear()
        self.publish_generation()

    def _changed_in_this_transaction(self) -> bool:
        """Does the open transaction hold a change not yet committed? Django keeps the callbacks
        a transaction registered with ``on_commit`` until it commits (and drops those of a
        rolled-back savepoint); ``changed`` registers ``_after_commit`` once per transaction."""
        connection = connections[DEFAULT_DB_ALIAS]
        return connection.in_atomic_block and any(entry[1] == self._after_commit for entry in connection.run_on_commit)

    def _bypassed(self) -> bool:
        return float(self.seconds()) <= 0 or self._changed_in_this_transaction()

    # --- The shared generation token -----------------------------------------------------

    def _check_generation(self) -> None:
        """Empty the cache when another process changed what it holds (a new token)."""
        now = self.clock()
        with self._lock:
            if now < self._next_check:
                return
            # Claimed by this thread: the others go on serving while it asks Redis.
            self._next_check = now + float(self.check_seconds())
        try:
            token = cache.get(self.generation_key)
        except CACHE_ERRORS as exc:
            self._outage(exc, now)
            return
        with self._lock:
            if token != self._token:
                self._token = token
                self._entries.clear()
                self._epoch += 1

    def _outage(self, exc: Exception, now: float) -> None:
        with self._lock:
            if now < self._next_outage_log:
                return
            self._next_outage_log = now + OUTAGE_LOG_INTERVAL_SECONDS
        logger.warning(
            "%s cache: the shared cache is unreachable (%s: %s); cached rows are kept at most %s s",
            self.name,
            type(exc).__name__,
            exc,
            self.seconds(),
        )
