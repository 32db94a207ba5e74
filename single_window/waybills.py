"""The waybill contract between the app that owns the import documents and the logistics
system, kept by the hub so that neither names the other.

- **Facts about a waybill** (``register_waybill_lookup`` / ``waybill_facts``): whether the single
  window holds the waybill a carrier reports on, and where customs is with the list of its
  parcel (its status, when it was released). The app that owns documents registers the lookup.
- **A delivery to tell customs** (``register_delivery_notice`` / ``delivery_notice``): a
  carrier delivered a parcel customs had released; the app that owns the customs gateway sends
  customs the waybill's signed-for status (CEB513) and applies its answer (CEB514). Called by
  the logistics system in its own transaction; the registered callback stores what it sends in
  that transaction (the outbox), so nothing is sent for a change rolled back.

The hub defines the shapes and keeps the registers; it names no app.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class WaybillFacts:
    """A waybill the single window holds, and the list of its parcel as customs left it."""

    logistics_code: str
    logistics_no: str
    ebp_code: str
    order_no: str
    # The list of the parcel, if one names this waybill: its id, customs' number, its status,
    # and when customs released it (receipt 800); None and "" when there is no list yet.
    inventory_id: int | None
    invt_no: str
    list_status: str
    released_at: datetime.datetime | None
    ebc_code: str
    agent_code: str
    customs_code: str
    port_code: str
    trade_mode: str

    @property
    def released(self) -> bool:
        return self.released_at is not None


@dataclass(frozen=True)
class Delivery:
    """A parcel signed for by its consignee (the carrier's ``delivered`` event)."""

    logistics_code: str
    logistics_no: str
    delivered_at: datetime.datetime
    place: str
    note: str = ""


_LOOKUP: list[Callable[[str, str], WaybillFacts | None]] = []
_NOTICE: list[Callable[[Delivery], None]] = []


def register_waybill_lookup(lookup: Callable[[str, str], WaybillFacts | None]) -> None:
    """Called once, by the app that owns the waybills."""
    if _LOOKUP:
        msg = "the waybill lookup is already registered"
        raise ImproperlyConfigured(msg)
    _LOOKUP.append(lookup)


def waybill_facts(logistics_code: str, logistics_no: str) -> WaybillFacts | None:
    """The waybill (its latest version not deleted) and its parcel's list; None: not held."""
    for lookup in _LOOKUP:
        return lookup(logistics_code, logistics_no)
    return None


def register_delivery_notice(callback: Callable[[Delivery], None]) -> None:
    """Called once, by the app that owns the customs gateway."""
    if _NOTICE:
        msg = "the delivery notice is already registered"
        raise ImproperlyConfigured(msg)
    _NOTICE.append(callback)


def delivery_notice(delivery: Delivery) -> bool:
    """Have customs told of a delivery (CEB513), in the caller's transaction. False when no app
    that owns the gateway is installed."""
    for callback in _NOTICE:
        callback(delivery)
        return True
    return False
