"""Carriers' tracking events by signed webhook (``POST /api/v1/webhooks/carriers``).

A carrier that is a partner of the single window (``PartnerKind.CARRIER``) posts the same JSON
as the API, one event or ``{"events": [...]}``, signed with Standard Webhooks headers; the hub
verifies, stores and acknowledges it, and a worker applies it here as message type
``logistics.tracking_events`` (the carriers' default type: the body needn't name it).

A carrier partner reports on its own waybills only: its logistics code is the customs code of
the enterprise the partner is registered for (``Partner.enterprise``), or, for a partner
registered without one, the partner's own ``code``. An event for another code is refused, as
on the API.
"""

from __future__ import annotations

import json

from core.errors import InvalidInput
from logistics import tracking
from logistics.models import EventSource
from single_window.inbox import InboxRejected, register_handler
from single_window.models import InboxMessage, Partner, PartnerKind

MESSAGE_TYPE = "logistics.tracking_events"


def carrier_code_of(partner: Partner) -> str:
    """The logistics code a carrier partner reports for."""
    if partner.enterprise is not None and partner.enterprise.customs_code:
        return partner.enterprise.customs_code
    return partner.code


def apply_tracking_events(message: InboxMessage, body: bytes) -> str:
    """The inbox handler: store the carrier's events; the note counts what became of them."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InboxRejected("the body is not JSON") from exc
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key != "type"}
    try:
        events = tracking.events_of(data)
    except InvalidInput as exc:
        raise InboxRejected(str(exc.detail)) from exc
    outcomes = tracking.events_receive(
        carrier_code=carrier_code_of(message.partner), bodies=events, source=EventSource.WEBHOOK
    )
    counts = {name: sum(1 for o in outcomes if o.status == name) for name in ("stored", "duplicate", "refused")}
    refused = [f"[{index}] {o.error.code}" for index, o in enumerate(outcomes) if o.error is not None][:10]
    note = f"stored {counts['stored']}, duplicate {counts['duplicate']}, refused {counts['refused']}"
    return note + (f": {'; '.join(refused)}" if refused else "")


def register() -> None:
    """Called once, from ``LogisticsConfig.ready``."""
    register_handler(
        MESSAGE_TYPE,
        apply_tracking_events,
        partner_kinds=(PartnerKind.CARRIER,),
        default_for_partner_kind=PartnerKind.CARRIER,
    )
