"""Events: what an enterprise is told, in one sequence per enterprise, as a feed and by webhook.

``event_publish`` runs in the caller's transaction. It takes the enterprise's counter row
lock (``EventCounter``) and holds it until commit, so sequences are given in commit order and
a rolled-back event gives its number back: the feed never skips a committed event, and a
reader that has seen sequence n has seen everything before it.

Inside ``events_deferred()`` the events are kept in memory and written together when the block
ends, still in the caller's transaction: one statement for all of them (counters, events and
endpoints), and one insert for their webhook messages. A many-document request publishes
hundreds of events; written one by one, that is a round trip each.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.deferred import current_row_buffer
from core.times import ChinaJSONEncoder, iso_china
from single_window import event_types
from single_window.models import Enterprise, Event, EventCounter, OutboxDestination, WebhookEndpoint
from single_window.outbox import outbox_enqueue, outbox_enqueue_many

# One round trip on PostgreSQL: the counter's row (created on first use, locked until commit),
# the event, and the enterprise's endpoints that may want it.
_PUBLISH_SQL = """
WITH counter AS (
    INSERT INTO single_window_eventcounter (enterprise_id, last_sequence) VALUES (%(enterprise)s, 1)
    ON CONFLICT (enterprise_id)
    DO UPDATE SET last_sequence = single_window_eventcounter.last_sequence + 1
    RETURNING last_sequence
), event AS (
    INSERT INTO single_window_event (enterprise_id, sequence, type, subject, payload, created_at)
    SELECT %(enterprise)s, counter.last_sequence, %(type)s, %(subject)s, %(payload)s::jsonb, %(created_at)s FROM counter
    RETURNING id, sequence
)
SELECT event.id, event.sequence, ARRAY(
    SELECT endpoint.id FROM single_window_webhookendpoint endpoint
    WHERE endpoint.enterprise_id = %(enterprise)s AND endpoint.active AND endpoint.deleted_at IS NULL
      AND endpoint.event_types @> to_jsonb(ARRAY[%(type)s::text])
    ORDER BY endpoint.id
) FROM event
"""


def _record_postgresql(
    enterprise: Enterprise, type_: str, subject: str, payload: dict[str, Any]
) -> tuple[Event, list[int]]:
    created_at = timezone.now()
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(
            _PUBLISH_SQL,
            {
                "enterprise": enterprise.pk,
                "type": type_,
                "subject": subject,
                "payload": json.dumps(payload),
                "created_at": created_at,
            },
        )
        event_id, sequence, endpoint_ids = cursor.fetchone()
    event = Event(
        pk=event_id,
        enterprise=enterprise,
        sequence=sequence,
        type=type_,
        subject=subject,
        payload=payload,
        created_at=created_at,
    )
    event._state.adding = False
    return event, list(endpoint_ids)


def _record_portable(
    enterprise: Enterprise, type_: str, subject: str, payload: dict[str, Any]
) -> tuple[Event, list[int]]:
    event = Event.objects.create(
        enterprise=enterprise, sequence=_next_sequence(enterprise), type=type_, subject=subject, payload=payload
    )
    endpoints = WebhookEndpoint.objects.filter(enterprise=enterprise, active=True, deleted_at__isnull=True)
    return event, [endpoint.pk for endpoint in endpoints.order_by("id") if type_ in endpoint.event_types]


def _next_sequence(enterprise: Enterprise) -> int:
    counter = EventCounter.objects.select_for_update().filter(enterprise=enterprise).first()
    if counter is None:
        try:
            with transaction.atomic():
                EventCounter.objects.create(enterprise=enterprise)
        except IntegrityError:
            pass  # another transaction made it; the lock below waits for that one to commit
        counter = EventCounter.objects.select_for_update().get(enterprise=enterprise)
    counter.last_sequence += 1
    counter.save(update_fields=["last_sequence"])
    return counter.last_sequence


def envelope(event: Event) -> dict[str, Any]:
    """An event as the feed shows it and a webhook body carries it."""
    return {
        "id": event.pk,
        "sequence": event.sequence,
        "type": event.type,
        "subject": event.subject,
        "timestamp": iso_china(event.created_at),
        "data": event.payload,
    }


# Many events in one round trip: each enterprise's counter moves once by its number of events
# (row-locked until commit, as for one), and each event takes its place in that range in the
# order it was published.
_PUBLISH_MANY_SQL = """
WITH input AS (
    SELECT * FROM unnest(%(enterprises)s::bigint[], %(types)s::text[], %(subjects)s::text[],
                         %(payloads)s::jsonb[], %(created)s::timestamptz[], %(positions)s::int[])
        AS t(enterprise_id, type, subject, payload, created_at, position)
), counts AS (
    SELECT enterprise_id, count(*) AS n FROM input GROUP BY enterprise_id
), counter AS (
    INSERT INTO single_window_eventcounter (enterprise_id, last_sequence)
    SELECT enterprise_id, n FROM counts ORDER BY enterprise_id
    ON CONFLICT (enterprise_id)
    DO UPDATE SET last_sequence = single_window_eventcounter.last_sequence + EXCLUDED.last_sequence
    RETURNING enterprise_id, last_sequence
), numbered AS (
    SELECT input.*, counter.last_sequence - counts.n
           + row_number() OVER (PARTITION BY input.enterprise_id ORDER BY input.position) AS sequence
    FROM input JOIN counts USING (enterprise_id) JOIN counter USING (enterprise_id)
), event AS (
    INSERT INTO single_window_event (enterprise_id, sequence, type, subject, payload, created_at)
    SELECT enterprise_id, sequence, type, subject, payload, created_at FROM numbered ORDER BY position
    RETURNING id, enterprise_id, sequence
)
SELECT numbered.position, event.id, event.sequence, ARRAY(
    SELECT endpoint.id FROM single_window_webhookendpoint endpoint
    WHERE endpoint.enterprise_id = numbered.enterprise_id AND endpoint.active AND endpoint.deleted_at IS NULL
      AND endpoint.event_types @> to_jsonb(ARRAY[numbered.type])
    ORDER BY endpoint.id
)
FROM event JOIN numbered USING (enterprise_id, sequence)
ORDER BY numbered.position
"""


@dataclass
class _Pending:
    enterprise: Enterprise
    type: str
    subject: str
    payload: dict[str, Any]
    created_at: Any
    excluded: frozenset[int]


@dataclass
class EventBuffer:
    """The events published inside ``events_deferred()``, not written yet."""

    pending: list[_Pending] = field(default_factory=list)

    def mark(self) -> int:
        """A point to go back to (``discard_after``) when the work after it is rolled back."""
        return len(self.pending)

    def discard_after(self, mark: int) -> None:
        del self.pending[mark:]

    def flush(self) -> None:
        """Write the pending events in the caller's transaction, in the order published."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        if transaction.get_connection().vendor != "postgresql":
            for item in pending:
                _write(item.enterprise, item.type, item.subject, item.payload, item.excluded)
            return
        with transaction.get_connection().cursor() as cursor:
            cursor.execute(
                _PUBLISH_MANY_SQL,
                {
                    "enterprises": [item.enterprise.pk for item in pending],
                    "types": [item.type for item in pending],
                    "subjects": [item.subject for item in pending],
                    "payloads": [json.dumps(item.payload) for item in pending],
                    "created": [item.created_at for item in pending],
                    "positions": list(range(len(pending))),
                },
            )
            rows = cursor.fetchall()
        messages = []
        for position, event_id, sequence, endpoint_ids in rows:
            item = pending[position]
            event = Event(
                pk=event_id,
                enterprise=item.enterprise,
                sequence=sequence,
                type=item.type,
                subject=item.subject,
                payload=item.payload,
                created_at=item.created_at,
            )
            messages += [
                _webhook_message(event, endpoint_id) for endpoint_id in endpoint_ids if endpoint_id not in item.excluded
            ]
        outbox_enqueue_many(messages)


_deferred: ContextVar[EventBuffer | None] = ContextVar("events_deferred", default=None)


def current_event_buffer() -> EventBuffer | None:
    """The buffer of the ``events_deferred`` block this runs in (None: outside any)."""
    return _deferred.get()


@contextlib.contextmanager
def events_deferred() -> Iterator[EventBuffer]:
    """Keep the events published inside the block and write them together when it ends
    (inside the caller's transaction). Nested, the outer block writes them. An exception
    leaves nothing written: the transaction it ends rolls back what came before anyway."""
    current = _deferred.get()
    if current is not None:
        yield current
        return
    buffer = EventBuffer()
    token = _deferred.set(buffer)
    try:
        yield buffer
    finally:
        _deferred.reset(token)
    buffer.flush()


def deferred_mark() -> tuple[int, int]:
    """Where the deferred events and rows (audit entries, status history) stand now
    (``deferred_discard``)."""
    events, rows = _deferred.get(), current_row_buffer()
    return (events.mark() if events is not None else 0, rows.mark() if rows is not None else 0)


def deferred_discard(mark: tuple[int, int]) -> None:
    """Forget the deferred events and rows recorded after ``mark``: the work that recorded
    them was rolled back to a savepoint."""
    events, rows = _deferred.get(), current_row_buffer()
    if events is not None:
        events.discard_after(mark[0])
    if rows is not None:
        rows.discard_after(mark[1])


@contextlib.contextmanager
def atomic_with_events() -> Iterator[None]:
    """A savepoint (``transaction.atomic``) whose deferred events and rows are
    dropped with it when it rolls back, as the rows written inside it are."""
    mark = deferred_mark()
    try:
        with transaction.atomic():
            yield
    except BaseException:
        deferred_discard(mark)
        raise


def _webhook_message(event: Event, endpoint_id: int) -> dict[str, Any]:
    return {
        "destination_kind": OutboxDestination.WEBHOOK,
        "destination": str(endpoint_id),
        "ordering_key": f"webhook:{endpoint_id}:{event.subject or f'event:{event.pk}'}",
        "message_type": event.type,
        "payload": envelope(event),
        "webhook_endpoint_id": endpoint_id,
        "event_id": event.pk,
    }


def event_publish(
    *,
    enterprise: Enterprise,
    type: str,  # noqa: A002 - the event's type, as the feed names it
    payload: Mapping[str, Any],
    subject: str = "",
    exclude_endpoint_ids: Iterable[int] = (),
) -> Event:
    """Record an event for ``enterprise`` and queue it to each of its endpoints subscribed to
    ``type``. ``subject`` (``inventory:81``) orders deliveries: events of one subject reach an
    endpoint in sequence order. ``payload`` holds ids, keys, statuses, codes and amounts only.
    Raises ``ValueError`` for a type no app registered (``single_window.event_types``).
    """
    if not transaction.get_connection().in_atomic_block:
        msg = "event_publish must run inside the transaction of the change it reports"
        raise RuntimeError(msg)
    # The database no longer lists the types (the hub can't name other systems'), so this is
    # the one check: a typo would otherwise reach feeds no endpoint could subscribe to.
    if not event_types.is_registered(type):
        msg = f"event type {type!r} is not registered"
        raise ValueError(msg)
    plain = json.loads(json.dumps(dict(payload), cls=ChinaJSONEncoder))
    excluded = frozenset(exclude_endpoint_ids)
    buffer = _deferred.get()
    if buffer is not None:
        # Written when the block ends: the event has no id or sequence yet.
        item = _Pending(enterprise, type, subject[:100], plain, timezone.now(), excluded)
        buffer.pending.append(item)
        return Event(enterprise=enterprise, type=type, subject=item.subject, payload=plain, created_at=item.created_at)
    return _write(enterprise, type, subject[:100], plain, excluded)


def _write(
    enterprise: Enterprise, type_: str, subject: str, payload: dict[str, Any], excluded: frozenset[int]
) -> Event:
    record = _record_postgresql if transaction.get_connection().vendor == "postgresql" else _record_portable
    event, endpoint_ids = record(enterprise, type_, subject, payload)
    for endpoint_id in endpoint_ids:
        if endpoint_id not in excluded:
            outbox_enqueue(**_webhook_message(event, endpoint_id))
    return event
