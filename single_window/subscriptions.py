"""Subscriptions: the systems of the product learn of events in order, each once.

Enterprises hear of events through the feed and the webhooks; a system of the product (credit
learning of customs' rejections, say) hears of them here. It registers in its
``AppConfig.ready``::

    register_subscriber("credit", ["inventory.status_changed", ...], handler)

and the task ``single_window.run_event_subscriptions`` (every few seconds, ``config/celery.py``)
hands each new ``Event`` of those types to ``handler``, in id order, and moves the subscriber's
``SubscriptionCursor`` past it in the same transaction:

- **Nothing is lost.** The cursor lives in the database: a crash, a lost task or a broker away
  delays the next run, which starts where the last commit left off.
- **Each event once.** The handler's writes and the cursor's move commit together; a handler
  should still be idempotent by a key of its own (the event's id), as every effect here is.
- **In order.** An event's id is given when its row is inserted, not when its transaction
  commits, so an id below the newest visible one may belong to a transaction still open (or
  to one rolled back, which will never show). A transaction that inserts an event holds a
  lock on the event table from before it takes the id until it ends (or until the savepoint
  that inserted it is rolled back, taking the row with it). So at a gap the cursor notes the
  transactions of this database holding that lock, and waits until all of them have ended;
  then it reads again, and a gap still there is for good. SQLite has one writer at a time: a
  gap there is final.
- **A handler that raises** is rolled back to its own savepoint; the cursor stays just before
  that event, the failure is counted on the cursor row and logged, and the next run tries the
  event again. Later events wait for it: order is kept over progress.

Types are names. A subscriber may name a type no app has registered: the app that emits it
registers it in its own ``ready`` (perhaps after the subscriber's), or is not installed; such a
type simply never arrives. The hub names no subscriber and no type.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from single_window.event_types import NAME_MAX_LENGTH
from single_window.models import SUBSCRIBER_NAME_MAX_LENGTH, Event, SubscriptionCursor

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]

# A run that stops at a gap in flight looks again this often, up to GAP_POLL_SECONDS, before it
# leaves the gap to the next run: the transactions it waits for usually end within milliseconds.
GAP_POLL_INTERVAL_SECONDS = 0.05
GAP_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Subscriber:
    name: str
    event_types: frozenset[str]
    handler: Handler
    # Which events of its types the handler has anything to do with (None: all). The others are
    # passed over without a savepoint: most events a busy list publishes change no figure.
    accepts: Callable[[Event], bool] | None = None


_SUBSCRIBERS: dict[str, Subscriber] = {}


def register_subscriber(
    name: str, event_types: Iterable[str], handler: Handler, *, accepts: Callable[[Event], bool] | None = None
) -> None:
    """Hand ``handler`` every event of ``event_types`` from now on; once per name, at start-up.

    ``handler(event)`` runs inside the run's transaction (a savepoint of its own), with
    ``event.enterprise`` loaded. A new subscriber starts from the first event stored.
    ``accepts(event)``: False for an event the handler would do nothing with (it reads no
    database); such events are passed over, the cursor moving past them all the same.
    """
    if not name or len(name) > SUBSCRIBER_NAME_MAX_LENGTH:
        msg = f"a subscriber needs a name of 1 to {SUBSCRIBER_NAME_MAX_LENGTH} characters, not {name!r}"
        raise ImproperlyConfigured(msg)
    if name in _SUBSCRIBERS:
        msg = f"the subscriber {name!r} is already registered"
        raise ImproperlyConfigured(msg)
    types = frozenset(event_types)
    if not types or any(not t or len(t) > NAME_MAX_LENGTH for t in types):
        msg = f"the subscriber {name!r} needs event type names of 1 to {NAME_MAX_LENGTH} characters"
        raise ImproperlyConfigured(msg)
    _SUBSCRIBERS[name] = Subscriber(name=name, event_types=types, handler=handler, accepts=accepts)


def registered_subscribers() -> tuple[Subscriber, ...]:
    return tuple(_SUBSCRIBERS[name] for name in sorted(_SUBSCRIBERS))


# --- Running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOutcome:
    """What one batch of one subscriber did."""

    handled: int = 0
    # The cursor row was held by another run: this one left it alone.
    busy: bool = False
    # Stopped at a gap whose transactions are still in progress.
    waiting: bool = False
    # The handler raised; the cursor stays before that event.
    failed: bool = False
    # Read fewer events than the batch size: nothing more to read now.
    caught_up: bool = False

    @property
    def may_continue(self) -> bool:
        return not (self.busy or self.waiting or self.failed or self.caught_up)


@dataclass
class RunResult:
    """What a run did for one subscriber."""

    handled: int = 0
    position: int = 0
    waiting: bool = False
    failed: bool = False


def _ensure_cursor(name: str) -> None:
    if SubscriptionCursor.objects.filter(name=name).exists():
        return
    try:
        with transaction.atomic():
            SubscriptionCursor.objects.create(name=name)
    except IntegrityError:
        pass  # another run made it


def _in_flight() -> set[str] | None:
    """The transactions of this database, other than this one, that hold a write lock on the
    event table: the only ones that may still commit an event with an id already given. None
    where the database has one writer at a time (no gap is ever in flight)."""
    if connection.vendor != "postgresql":
        return None
    sql = """
        SELECT DISTINCT virtualtransaction FROM pg_locks
        WHERE locktype = 'relation' AND relation = %s::regclass AND mode = 'RowExclusiveLock'
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND pid <> pg_backend_pid()
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [Event._meta.db_table])
        return {row[0] for row in cursor.fetchall()}


def _read(after: int, limit: int) -> list[tuple[int, str]]:
    """The next events' ids and types, in id order."""
    return list(Event.objects.filter(pk__gt=after).order_by("pk").values_list("pk", "type")[:limit])


def _gap_is_final(cursor: SubscriptionCursor, gap_at: int, in_flight_before_read: set[str] | None) -> bool:
    """May the cursor pass the missing ids from ``gap_at``? If not, it waits for the
    transactions in flight now (noted on the cursor).

    ``in_flight_before_read`` was taken before the rows were read. When none of the
    transactions noted at the gap is in it, each of them ended before the read: had one
    committed the missing event, the read would have shown it.
    """
    if in_flight_before_read is None:
        return True
    if cursor.gap_at == gap_at:
        return not (set(cursor.gap_waiting_on) & in_flight_before_read)
    # Noted after the read: a transaction that ended between the read and now committed its
    # event (the next read shows it) or never will.
    cursor.gap_at = gap_at
    cursor.gap_waiting_on = sorted(_in_flight() or ())
    cursor.gap_seen_at = timezone.now()
    return False


def _contiguous(
    cursor: SubscriptionCursor, rows: Sequence[tuple[int, str]], in_flight_before_read: set[str] | None
) -> tuple[list[tuple[int, str]], bool]:
    """The rows the cursor may take now, in order, and whether it stopped at a gap in flight."""
    taken: list[tuple[int, str]] = []
    expected = cursor.last_event_id + 1
    for event_id, type_ in rows:
        if event_id != expected and not _gap_is_final(cursor, expected, in_flight_before_read):
            return taken, True
        taken.append((event_id, type_))
        expected = event_id + 1
    return taken, False


def _next_events(cursor: SubscriptionCursor, limit: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]], bool]:
    """Read the next events: all read, those the cursor may take, and whether it waits at a gap.

    A gap seen for the first time with no transaction in flight is read again at once: the
    second read either shows the missing event or proves it is not coming.
    """
    for _attempt in range(3):
        before = _in_flight()
        rows = _read(cursor.last_event_id, limit)
        taken, waiting = _contiguous(cursor, rows, before)
        if not (waiting and not cursor.gap_waiting_on):
            break
    return rows, taken, waiting


def _record_failure(cursor: SubscriptionCursor, event_id: int, exc: Exception) -> None:
    cursor.failures = cursor.failures + 1 if cursor.failing_event_id == event_id else 1
    cursor.failing_event_id = event_id
    cursor.last_error = f"{type(exc).__name__}: {exc}"[:500]
    cursor.last_error_at = timezone.now()


def subscription_batch(*, subscriber: Subscriber, limit: int) -> BatchOutcome:
    """Hand the next events (up to ``limit`` read) to ``subscriber`` in one transaction.

    1. Lock the subscriber's cursor, or leave if another run holds it (SKIP LOCKED).
    2. Read the next ``limit`` events' ids and types; keep them up to the first gap that may
       still fill (``_gap_is_final``).
    3. Hand each kept event of the subscriber's types to its handler, each in a savepoint; on
       a failure, stop just before that event.
    4. Move the cursor past what was handled or skipped, and commit it with the handlers' work.
    """
    with transaction.atomic():
        # 1.
        cursor = SubscriptionCursor.objects.select_for_update(skip_locked=True).filter(name=subscriber.name).first()
        if cursor is None:
            return BatchOutcome(busy=True)
        # 2.
        rows, taken, waiting = _next_events(cursor, limit)
        wanted = [event_id for event_id, type_ in taken if type_ in subscriber.event_types]
        events = Event.objects.filter(pk__in=wanted).select_related("enterprise").order_by("pk") if wanted else []
        # 3.
        position, handled, failed = cursor.last_event_id, 0, False
        by_id = {event.pk: event for event in events}
        for event_id, _type in taken:
            event = by_id.get(event_id)
            if event is not None and (subscriber.accepts is None or subscriber.accepts(event)):
                try:
                    with transaction.atomic():
                        subscriber.handler(event)
                except Exception as exc:
                    logger.exception(
                        "subscriber %s failed on event %s; it is tried again by the next run", subscriber.name, event_id
                    )
                    _record_failure(cursor, event_id, exc)
                    failed = True
                    break
                handled += 1
            position = event_id
        # 4.
        if position != cursor.last_event_id:
            cursor.last_event_id = position
            if cursor.gap_at is not None and cursor.gap_at <= position:
                cursor.gap_at, cursor.gap_waiting_on, cursor.gap_seen_at = None, [], None
            if not failed:
                cursor.failures, cursor.failing_event_id = 0, None
        cursor.save()
        return BatchOutcome(
            handled=handled, waiting=waiting and not failed, failed=failed, caught_up=len(rows) < limit and not waiting
        )


def subscriptions_run(
    *, names: Iterable[str] | None = None, batch_size: int | None = None, budget_seconds: float | None = None
) -> dict[str, RunResult]:
    """Bring every subscriber (or those ``names``) up to date: a batch each in turn, until each
    is caught up, has failed, waits at a gap longer than ``GAP_POLL_SECONDS``, or the time
    budget is spent. Safe to run in parallel: a cursor is worked by one run at a time."""
    limit = batch_size or settings.EVENT_SUBSCRIPTION_BATCH_SIZE
    budget = settings.EVENT_SUBSCRIPTION_RUN_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    wanted = None if names is None else set(names)
    active = [s for s in registered_subscribers() if wanted is None or s.name in wanted]
    results = {subscriber.name: RunResult() for subscriber in active}
    for subscriber in active:
        _ensure_cursor(subscriber.name)
    polls = dict.fromkeys(results, 0)
    while active and time.monotonic() < deadline:
        waiting = False
        for subscriber in list(active):
            outcome = subscription_batch(subscriber=subscriber, limit=limit)
            result = results[subscriber.name]
            result.handled += outcome.handled
            result.failed = result.failed or outcome.failed
            result.waiting = outcome.waiting
            if outcome.waiting and polls[subscriber.name] * GAP_POLL_INTERVAL_SECONDS < GAP_POLL_SECONDS:
                polls[subscriber.name] += 1
                waiting = True
            elif not outcome.may_continue:
                active.remove(subscriber)
        if waiting:
            time.sleep(GAP_POLL_INTERVAL_SECONDS)
    positions = dict(SubscriptionCursor.objects.filter(name__in=list(results)).values_list("name", "last_event_id"))
    for name, result in results.items():
        result.position = positions.get(name, 0)
    return results
