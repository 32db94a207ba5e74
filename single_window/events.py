"""Events: what an enterprise is told, in one sequence per enterprise, as a feed and by webhook.

``event_publish`` runs in the caller's transaction. It takes the enterprise's counter row
lock (``EventCounter``) and holds it until commit, so sequences are given in commit order and
a rolled-back event gives its number back: the feed never skips a committed event, and a
reader that has seen sequence n has seen everything before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.times import ChinaJSONEncoder, iso_china
from single_window import event_types
from single_window.models import Enterprise, Event, EventCounter, OutboxDestination, WebhookEndpoint
from single_window.outbox import outbox_enqueue

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
    record = _record_postgresql if transaction.get_connection().vendor == "postgresql" else _record_portable
    event, endpoint_ids = record(enterprise, type, subject[:100], plain)
    excluded = set(exclude_endpoint_ids)
    for endpoint_id in endpoint_ids:
        if endpoint_id in excluded:
            continue
        outbox_enqueue(
            destination_kind=OutboxDestination.WEBHOOK,
            destination=str(endpoint_id),
            ordering_key=f"webhook:{endpoint_id}:{subject or f'event:{event.pk}'}",
            message_type=type,
            payload=envelope(event),
            webhook_endpoint_id=endpoint_id,
            event_id=event.pk,
        )
    return event
