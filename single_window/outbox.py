"""The outbox: messages to outside systems, written with the change that causes them and
relayed at least once.

Contract
--------
- ``outbox_enqueue`` runs inside the caller's transaction: the row commits or rolls back with
  the state change. After commit the relay is kicked; if the broker is down the row waits for
  the periodic relay (``config/celery.py``), it is never lost.
- ``outbox_relay_batch`` claims due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` in a short
  transaction, marks them ``sending`` with a lease and commits before any network call. A
  claim whose worker died is claimable again once its lease runs out, so a message may go out
  twice (receivers deduplicate by ``webhook-id``); within one claim it goes out once.
- Messages with one ``ordering_key`` leave in id order: while an earlier one is pending,
  sending or dead, later ones are not claimed.
- A failed attempt schedules the next one from ``RETRY_SCHEDULE`` (plus up to 20 % jitter);
  after the last, the row is ``dead``: the admin and the API list it, redeliver or discard it.
  A message the destination refused as a whole (``DeliveryResult.refused``: the same bytes
  would be refused again) is dead at once.
- Each destination kind has one sender, registered once (``register_sender``). Senders get
  the message and its body and return a ``DeliveryResult``; an exception counts as a failed
  attempt. The registration may also say what to do when a message is sent, dead or refused.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from celery import current_app
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import Actor, audit_record, snapshot
from core.crypto import decrypt_bytes, encrypt_bytes
from core.errors import Conflict
from core.models import AuditEntry
from single_window.error_codes import MESSAGE_NOT_DISCARDABLE, MESSAGE_NOT_REDELIVERABLE
from single_window.models import OUTBOX_UNSENT_STATES, OutboxAttempt, OutboxMessage, OutboxState

logger = logging.getLogger(__name__)

# Delay after the 1st, 2nd, … failed attempt. After the last delay has been used and the
# attempt that follows it fails too (13 attempts over about 54 hours), the message is dead.
RETRY_SCHEDULE: tuple[datetime.timedelta, ...] = (
    datetime.timedelta(seconds=30),
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=2),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=10),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=1),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=4),
    datetime.timedelta(hours=8),
    datetime.timedelta(hours=12),
    datetime.timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# Each delay is stretched by a random 0-20 %, so a partner coming back isn't hit by every
# message at the same second.
JITTER = 0.2

# A relay run stops starting deliveries after this long and hands back what it didn't try.
RELAY_BUDGET = datetime.timedelta(seconds=30)
# Deliveries taken by their destination are recorded together (``_record_sent``): up to this
# many, and none kept longer than RECORD_SENT_WITHIN seconds, since the next message of its
# ordering key waits for it to be recorded.
RECORD_SENT_EVERY = 10
RECORD_SENT_WITHIN = 0.02
# Senders time out within 15 s (see ``HTTP_TIMEOUT``): a claim outlives the run's budget and
# one last delivery, with room to spare. A lease that runs out makes the row claimable again.
LEASE = datetime.timedelta(seconds=90)

EXCERPT_LENGTH = 500
RESPONSE_EXCERPT_READ = 2048
# single_window.tasks.relay_outbox
RELAY_TASK = "single_window.relay_outbox"


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    status_code: int | None = None
    error: str = ""
    response_excerpt: str = ""
    # The destination refused the message as a whole, for good: no retry, dead at once.
    refused: bool = False


Sender = Callable[[OutboxMessage, bytes], DeliveryResult]
# Each runs in the transaction that records the outcome, with the message in its new state.
DeadHandler = Callable[[OutboxMessage], None]
SentHandler = Callable[[OutboxMessage], None]


@dataclass(frozen=True)
class _Registration:
    sender: Sender
    on_dead: DeadHandler | None
    # A refused message is dead too; this runs instead of ``on_dead`` when it is given.
    on_refused: DeadHandler | None = None
    on_sent: SentHandler | None = None


_SENDERS: dict[str, _Registration] = {}


def register_sender(
    kind: str,
    sender: Sender,
    *,
    on_dead: DeadHandler | None = None,
    on_refused: DeadHandler | None = None,
    on_sent: SentHandler | None = None,
) -> None:
    """Deliver messages of ``kind`` with ``sender``. ``on_dead`` runs in the transaction that
    marks one dead; ``on_refused``, when given, instead of it for a message the destination
    refused (``DeliveryResult.refused``); ``on_sent`` in the transaction that marks one sent.
    Call from ``AppConfig.ready``, once per kind: registering a kind again is
    ``ImproperlyConfigured``, since which registration won would depend on the order of
    ``INSTALLED_APPS``."""
    if kind in _SENDERS:
        msg = f"a sender for outbox kind {kind!r} is already registered"
        raise ImproperlyConfigured(msg)
    _SENDERS[kind] = _Registration(sender=sender, on_dead=on_dead, on_refused=on_refused, on_sent=on_sent)


# --- Writing -------------------------------------------------------------------------------


def _body(payload: bytes | str | Mapping[str, Any]) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def outbox_enqueue(
    *,
    destination_kind: str,
    destination: str,
    ordering_key: str,
    message_type: str,
    payload: bytes | str | Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    webhook_endpoint_id: int | None = None,
    event_id: int | None = None,
) -> OutboxMessage:
    """Write a message in the caller's transaction; the relay is kicked once it commits.

    ``payload`` is sent as given (bytes or text) or as compact JSON (a mapping); the body is
    fixed here, so every retry sends the same bytes.
    """
    if not transaction.get_connection().in_atomic_block:
        msg = "outbox_enqueue must run inside the transaction of the change that causes the message"
        raise RuntimeError(msg)
    message = OutboxMessage.objects.create(
        destination_kind=destination_kind,
        destination=destination[:200],
        ordering_key=ordering_key[:200],
        message_type=message_type[:64],
        payload_encrypted=encrypt_bytes(_body(payload)),
        headers=dict(headers or {}),
        webhook_endpoint_id=webhook_endpoint_id,
        event_id=event_id,
        next_attempt_at=timezone.now(),
    )
    _kick_relay_on_commit()
    return message


def outbox_enqueue_many(messages: list[dict[str, Any]]) -> list[OutboxMessage]:
    """``outbox_enqueue`` for many messages (each a mapping of its arguments), in one insert."""
    if not messages:
        return []
    if not transaction.get_connection().in_atomic_block:
        msg = "outbox_enqueue_many must run inside the transaction of the change that causes the messages"
        raise RuntimeError(msg)
    now = timezone.now()
    rows = OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                destination_kind=m["destination_kind"],
                destination=m["destination"][:200],
                ordering_key=m["ordering_key"][:200],
                message_type=m["message_type"][:64],
                payload_encrypted=encrypt_bytes(_body(m["payload"])),
                headers=dict(m.get("headers") or {}),
                webhook_endpoint_id=m.get("webhook_endpoint_id"),
                event_id=m.get("event_id"),
                next_attempt_at=now,
            )
            for m in messages
        ]
    )
    _kick_relay_on_commit()
    return rows


def _kick_relay_on_commit() -> None:
    """One kick when the transaction commits, however many messages it wrote."""
    connection = transaction.get_connection()
    if not any(entry[1] is kick_relay for entry in connection.run_on_commit):
        transaction.on_commit(kick_relay)


def kick_relay() -> None:
    """Ask a worker to relay now. The broker being down costs latency only: beat relays too."""
    try:
        # By the task's name: the tasks module imports this one. No publish retries: a request
        # must not wait on a broker that is away.
        current_app.send_task(RELAY_TASK, retry=False)
    except Exception:  # kombu and redis raise several types for a broker that is away
        logger.warning("outbox: could not kick the relay; the periodic relay will send", exc_info=True)


def message_body(message: OutboxMessage) -> bytes:
    return decrypt_bytes(message.payload_encrypted)


# --- Relaying ------------------------------------------------------------------------------


def retry_delay(*, failed_attempts: int) -> datetime.timedelta | None:
    """The wait after the ``failed_attempts``-th failure, with jitter; None: give up."""
    if failed_attempts >= MAX_ATTEMPTS:
        return None
    base = RETRY_SCHEDULE[failed_attempts - 1]
    return base * (1 + secrets.SystemRandom().uniform(0, JITTER))


@dataclass(frozen=True)
class _Claim:
    message_id: int
    attempt: int
    lease_until: datetime.datetime


def _claim(*, limit: int, now: datetime.datetime) -> list[_Claim]:
    """1. Lock due rows nobody else holds (SKIP LOCKED), in a short transaction.
    2. Mark them sending with a lease and count the attempt.
    3. Commit, releasing the locks, before anything goes over the network."""
    earlier_unsent = OutboxMessage.objects.filter(
        ordering_key=OuterRef("ordering_key"), id__lt=OuterRef("id"), state__in=OUTBOX_UNSENT_STATES
    )
    lease_until = now + LEASE
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(
                Q(state=OutboxState.PENDING, next_attempt_at__lte=now)
                | Q(state=OutboxState.SENDING, lease_until__lte=now)
            )
            .filter(~Exists(earlier_unsent))
            .order_by("next_attempt_at", "id")
            .values_list("id", "attempts")[:limit]
        )
        OutboxMessage.objects.filter(pk__in=[message_id for message_id, _attempts in rows]).update(
            state=OutboxState.SENDING, lease_until=lease_until, attempts=F("attempts") + 1
        )
    return [
        _Claim(message_id=message_id, attempt=attempts + 1, lease_until=lease_until) for message_id, attempts in rows
    ]


def _release(claim: _Claim) -> None:
    """Hand back a claim the run had no time for; it counts as no attempt."""
    OutboxMessage.objects.filter(pk=claim.message_id, state=OutboxState.SENDING, attempts=claim.attempt).update(
        state=OutboxState.PENDING, lease_until=None, attempts=claim.attempt - 1
    )


_SECRETISH = re.compile(r"(?i)(whsec_[A-Za-z0-9+/=]+|bearer\s+\S+|\b[0-9]{17}[0-9Xx]\b|\b1[3-9][0-9]{9}\b)")


def response_excerpt(text: str) -> str:
    """The start of a response for the log: secrets, ID numbers and mobile numbers starred."""
    return _SECRETISH.sub("***", text[:EXCERPT_LENGTH])[:EXCERPT_LENGTH]


def _send(message: OutboxMessage) -> DeliveryResult:
    registration = _SENDERS.get(message.destination_kind)
    if registration is None:
        return DeliveryResult(ok=False, error=f"no sender registered for {message.destination_kind}")
    try:
        return registration.sender(message, message_body(message))
    except Exception as exc:  # a sender's bug must not stop the batch: it is a failed attempt
        logger.exception("outbox: sender for %s raised on message %s", message.destination_kind, message.pk)
        return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])


@dataclass(frozen=True)
class _Sent:
    """A delivery the destination took, waiting to be recorded with others (``_record_sent``)."""

    message: OutboxMessage
    claim: _Claim
    result: DeliveryResult
    started_at: datetime.datetime
    latency_ms: int


def _deliver(claim: _Claim, *, loaded: OutboxMessage | None = None, sent: list[_Sent] | None = None) -> None:
    """Send one claimed message. ``loaded``: the message as read with its batch, used while the
    claim's lease lasts (after it, another relay may have claimed the message: it is read
    again). A success with nothing to run after it joins ``sent`` when given, to be recorded
    with the others; anything else is recorded at once."""
    message = loaded
    if message is None or timezone.now() >= claim.lease_until:
        message = OutboxMessage.objects.select_related("webhook_endpoint").filter(pk=claim.message_id).first()
    if message is None or message.state != OutboxState.SENDING or message.attempts != claim.attempt:
        return  # redelivered, discarded or reclaimed meanwhile
    started_at = timezone.now()
    clock = time.monotonic()
    result = _send(message)
    latency_ms = int((time.monotonic() - clock) * 1000)
    registration = _SENDERS.get(message.destination_kind)
    if sent is not None and result.ok and registration is not None and registration.on_sent is None:
        sent.append(_Sent(message, claim, result, started_at, latency_ms))
        return
    _record(message, claim, result, started_at=started_at, latency_ms=latency_ms)


def _record_sent(sent: list[_Sent]) -> None:
    """Record deliveries the destinations took: one insert of their attempts and one update,
    each message only if it is still the claim's (not reclaimed meanwhile)."""
    if not sent:
        return
    now = timezone.now()
    with transaction.atomic():
        OutboxAttempt.objects.bulk_create(
            [
                OutboxAttempt(
                    message=item.message,
                    number=item.claim.attempt,
                    started_at=item.started_at,
                    status_code=item.result.status_code,
                    error="",
                    latency_ms=item.latency_ms,
                    response_excerpt=response_excerpt(item.result.response_excerpt),
                )
                for item in sent
            ]
        )
        mine = reduce(or_, (Q(pk=item.message.pk, attempts=item.claim.attempt) for item in sent))
        OutboxMessage.objects.filter(mine, state=OutboxState.SENDING).update(
            state=OutboxState.SENT, sent_at=now, lease_until=None, last_error=""
        )


def _record(
    message: OutboxMessage, claim: _Claim, result: DeliveryResult, *, started_at: datetime.datetime, latency_ms: int
) -> None:
    now = timezone.now()
    error = result.error or ("" if result.status_code is not None else "no response")
    with transaction.atomic():
        OutboxAttempt.objects.create(
            message=message,
            number=claim.attempt,
            started_at=started_at,
            status_code=result.status_code,
            error=error[:500],
            latency_ms=latency_ms,
            response_excerpt=response_excerpt(result.response_excerpt),
        )
        mine = OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.SENDING, attempts=claim.attempt)
        registration = _SENDERS.get(message.destination_kind)
        if result.ok:
            sent = mine.update(state=OutboxState.SENT, sent_at=now, lease_until=None, last_error="")
            if sent and registration is not None and registration.on_sent is not None:
                message.state, message.sent_at, message.last_error = OutboxState.SENT, now, ""
                _after_sent(registration.on_sent, message)
            return
        last_error = (error or f"HTTP {result.status_code}")[:500]
        delay = None if result.refused else retry_delay(failed_attempts=claim.attempt)
        if delay is not None:
            mine.update(state=OutboxState.PENDING, next_attempt_at=now + delay, lease_until=None, last_error=last_error)
            return
        if mine.update(state=OutboxState.DEAD, lease_until=None, last_error=last_error):
            how = "refused" if result.refused else f"dead after {claim.attempt} attempts"
            logger.warning("outbox: message %s is %s: %s", message.pk, how, last_error)
            handler = registration.on_dead if registration is not None else None
            if registration is not None and result.refused and registration.on_refused is not None:
                handler = registration.on_refused
            if handler is not None:
                message.state = OutboxState.DEAD
                message.last_error = last_error
                handler(message)


def _after_sent(handler: SentHandler, message: OutboxMessage) -> None:
    """Run ``on_sent`` in a savepoint: whatever it fails at, the message stays sent (it was)."""
    try:
        with transaction.atomic():
            handler(message)
    except Exception:
        logger.exception("outbox: on_sent of %s failed on message %s", message.destination_kind, message.pk)


def outbox_relay_batch(*, limit: int = 50) -> int:
    """Claim up to ``limit`` due messages and deliver them; returns how many were claimed."""
    started = timezone.now()
    claims = _claim(limit=limit, now=started)
    messages = OutboxMessage.objects.select_related("webhook_endpoint").in_bulk([c.message_id for c in claims])
    sent: list[_Sent] = []
    oldest = 0.0
    for index, claim in enumerate(claims):
        if timezone.now() - started > RELAY_BUDGET:
            for left in claims[index:]:
                _release(left)
            break
        waiting = len(sent)
        _deliver(claim, loaded=messages.get(claim.message_id), sent=sent)
        if sent and not waiting:
            oldest = time.monotonic()
        if len(sent) >= RECORD_SENT_EVERY or (sent and time.monotonic() - oldest >= RECORD_SENT_WITHIN):
            _record_sent(sent)
            sent = []
    _record_sent(sent)
    return len(claims)


# --- Operators' actions --------------------------------------------------------------------

REDELIVERABLE = (OutboxState.DEAD, OutboxState.DISCARDED, OutboxState.SENT)
DISCARDABLE = (OutboxState.DEAD, OutboxState.PENDING)


@transaction.atomic
def outbox_redeliver(*, message: OutboxMessage, actor: Actor) -> OutboxMessage:
    """Send a dead, discarded or sent message again, with a fresh retry schedule.

    Keeps its ``webhook-id``, so a receiver that saw it before can tell. 409 while it is
    pending or being sent.
    """
    locked = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if locked.state not in REDELIVERABLE:
        raise Conflict(_("The message is already waiting to be sent."), code=MESSAGE_NOT_REDELIVERABLE)
    before = snapshot(locked)
    locked.state = OutboxState.PENDING
    locked.attempts = 0
    locked.next_attempt_at = timezone.now()
    locked.lease_until = None
    locked.save(update_fields=["state", "attempts", "next_attempt_at", "lease_until"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=locked,
        before=before,
        after=snapshot(locked),
        reason="redeliver",
    )
    transaction.on_commit(kick_relay)
    return locked


@transaction.atomic
def outbox_discard(*, message: OutboxMessage, actor: Actor) -> OutboxMessage:
    """Give up a dead or pending message; later messages of its ordering key go on. 409 otherwise."""
    locked = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if locked.state not in DISCARDABLE:
        raise Conflict(_("Only a dead or pending message can be discarded."), code=MESSAGE_NOT_DISCARDABLE)
    before = snapshot(locked)
    locked.state = OutboxState.DISCARDED
    locked.lease_until = None
    locked.save(update_fields=["state", "lease_until"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=locked,
        before=before,
        after=snapshot(locked),
        reason="discard",
    )
    transaction.on_commit(kick_relay)
    return locked
