"""What credit learns from the events of the single window.

The hub hands credit each event of the types below once, in order
(``single_window.subscriptions``). Credit knows them by name and by their published payloads
(ids, business keys, statuses), never by importing the app that publishes them; a type no app
registered simply never arrives.

- ``inventory.status_changed``, by the list's new state (and the one it left):

  - ``rejected``: a customs rejection; an inspection with findings if it was under inspection;
  - ``detained``: a detention; an inspection with findings if it was under inspection;
  - ``returned`` from ``released``: a return, counted for the returns rate;
  - ``returned`` from review, inspection or detention (the goods go back abroad): a customs
    rejection; an inspection with findings if it was under inspection;
  - ``risk_rejected``: a risk block (a regulator refused the list in risk review);
  - ``released``: a release, counted for the returns rate;

- ``inventory.matching_result`` not passed: a matching failure, once per list;
- ``inventory.risk_blocked``: a risk block, once per list version.

Who answers for it: an event about a list reaches each of its parties in their own feed (the
declaring agent and the e-commerce enterprise; the same change once per party). Credit takes
each copy for the enterprise that received it when that enterprise is one the payload names as
responsible (``ebc_code`` or ``agent_code``): each counts the change once, from its own copy,
and a copy reaching anyone else counts for nobody. A copy is counted once whatever happens
(``CreditEvent``'s unique source reference), and the score moves at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from credit import services
from credit.models import CreditEventKind
from single_window.models import Enterprise, Event
from single_window.subscriptions import register_subscriber

K = CreditEventKind

SUBSCRIBER = "credit"
STATUS_CHANGED = "inventory.status_changed"
MATCHING_RESULT = "inventory.matching_result"
RISK_BLOCKED = "inventory.risk_blocked"
EVENT_TYPES = (STATUS_CHANGED, MATCHING_RESULT, RISK_BLOCKED)

# The list's states, as the events name them.
REJECTED, DETAINED, RETURNED, RELEASED = "rejected", "detained", "returned", "released"
INSPECTION, RISK_REJECTED = "inspection", "risk_rejected"


@dataclass(frozen=True)
class Lesson:
    """What one event teaches: a credit event of ``kind`` counted once by ``reference``, and
    lists released or returned."""

    kind: str | None = None
    reference: str = ""
    released: int = 0
    returned: int = 0


# What a list's new state teaches, unless it was under inspection (then: findings).
_STATE_KINDS = {REJECTED: K.CUSTOMS_REJECTION, DETAINED: K.DETENTION, RETURNED: K.CUSTOMS_REJECTION}


def _status_lesson(payload: Mapping[str, Any], reference: str) -> Lesson | None:
    before, after = payload.get("from_status"), payload.get("to_status")
    if after == RELEASED:
        return Lesson(released=1)
    if after == RETURNED and before == RELEASED:
        return Lesson(returned=1)
    if after in _STATE_KINDS:
        kind = K.INSPECTION_FINDING if before == INSPECTION else _STATE_KINDS[str(after)]
        return Lesson(kind=kind, reference=reference)
    if after == RISK_REJECTED:
        return Lesson(kind=K.RISK_BLOCK, reference=reference)
    return None


def lesson_of(*, type_: str, payload: Mapping[str, Any], event_id: int, subject: str) -> Lesson | None:
    """What an event teaches, from its type and payload alone; None: nothing."""
    own = f"event:{event_id}"
    if type_ == STATUS_CHANGED:
        return _status_lesson(payload, own)
    if type_ == MATCHING_RESULT and payload.get("passed") is False:
        # A list counts once however many times it fails before it passes.
        return Lesson(kind=K.MATCHING_FAILURE, reference=subject or own)
    if type_ == RISK_BLOCKED:
        version = payload.get("version")
        return Lesson(kind=K.RISK_BLOCK, reference=f"{subject}/v{version}" if subject and version else own)
    return None


def answers_for(enterprise: Enterprise, payload: Mapping[str, Any]) -> bool:
    """Is ``enterprise`` one of the parties the payload names as responsible for the list?"""
    named = {payload.get("ebc_code"), payload.get("agent_code")} - {None, ""}
    return bool({enterprise.customs_code, enterprise.uscc} & named)


def _details(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What the credit event keeps of the payload: the list and the move, nothing else (no rule
    codes or reasons: the report shows kinds only, and the admin needs no more)."""
    keys = ("inventory_id", "cop_no", "from_status", "to_status", "version")
    return {key: payload[key] for key in keys if key in payload}


def teaches(event: Event) -> bool:
    """Whether the event teaches anything (``lesson_of``, which reads no database)."""
    return lesson_of(type_=event.type, payload=event.payload, event_id=event.pk, subject=event.subject) is not None


def credit_learn(event: Event) -> None:
    """The subscriber: runs in the hub's transaction, in a savepoint of its own."""
    lesson = lesson_of(type_=event.type, payload=event.payload, event_id=event.pk, subject=event.subject)
    if lesson is None or not answers_for(event.enterprise, event.payload):
        return
    if lesson.kind is not None:
        services.credit_event_learn(
            enterprise=event.enterprise,
            kind=lesson.kind,
            occurred_at=event.created_at,
            source_reference=lesson.reference,
            source_event_id=event.pk,
            subject=event.subject,
            details={"event_type": event.type, **_details(event.payload)},
        )
    if lesson.released or lesson.returned:
        services.credit_volume_count(
            enterprise=event.enterprise,
            day=timezone.localdate(event.created_at),
            event_id=event.pk,
            released=lesson.released,
            returned=lesson.returned,
            recompute=bool(lesson.returned),
        )


def register() -> None:
    """Called once, from ``CreditConfig.ready``."""
    register_subscriber(SUBSCRIBER, EVENT_TYPES, credit_learn, accepts=teaches)
