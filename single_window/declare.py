"""The declare step's contract: the facts a system is handed about a list, and its answer.

A matched declaration list reaches customs only when every system registered here lets it
(``docs/declare-step.md``). The hub defines the contract and keeps the register; it names no
system. The app that owns lists builds ``ListFacts`` and asks each participant; the systems
(risk, finance, logistics ...) implement ``Participant`` and register it in their
``AppConfig.ready``. A system never sees a list's rows: it judges the frozen facts, keeps what
it needs in its own tables, and learns of outcomes through ``consume`` and ``release``.

Every call is idempotent per list version (``ListRef``): asked twice about the same version, a
system answers the same and reserves once.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class ListRef:
    """One version of one list: the key every reservation is made under. ``kind`` says which
    lists' ids ``inventory_id`` counts, ``import`` or ``export``: the two never meet."""

    inventory_id: int
    version: int
    kind: str = "import"


@dataclass(frozen=True)
class ItemFacts:
    gnum: int
    gcode: str
    item_record_no: str
    item_name: str
    qty: Decimal
    unit: str
    qty1: Decimal
    unit1: str
    qty2: Decimal | None
    unit2: str
    price: Decimal
    total_price: Decimal
    currency: str
    country: str


@dataclass(frozen=True)
class TaxFacts:
    """The single window's tax estimate of the list (CNY, two decimals)."""

    mode: str
    dutiable_total: Decimal
    customs_tax: Decimal
    value_added_tax: Decimal
    consumption_tax: Decimal
    tax_total: Decimal


@dataclass(frozen=True)
class ListFacts:
    """What a system may know about a list it judges. Personal data only as keyed hashes."""

    ref: ListRef
    cop_no: str
    trade_mode: str
    # Parties, by the codes the list names (normalised to each enterprise's stored code).
    ebp_code: str
    ebc_code: str
    agent_code: str
    assure_code: str
    logistics_code: str
    area_code: str
    ems_no: str
    # Where it is declared: the customs district, the port, and the park of the area
    # enterprise (or, without one, of the declaring agent); "" when none is registered.
    customs_code: str
    port_code: str
    park_code: str
    # The buyer's ID number, the consignee's phone and normalised address, as keyed hashes.
    buyer_hash: str
    consignee_phone_hash: str
    consignee_address_hash: str
    gross_weight: Decimal
    net_weight: Decimal
    freight: Decimal
    insured_fee: Decimal
    items: tuple[ItemFacts, ...]
    tax: TaxFacts | None
    declared_at: datetime.datetime


class Verdict(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a secret
    REVIEW = "review"  # a regulator must look first (the list waits in the review queue)
    HOLD = "hold"  # wait for something (a guarantee topped up, stock arriving) until hold_until
    BLOCK = "block"  # never to customs in this version


@dataclass(frozen=True)
class Reason:
    """Why a system answered as it did; ``evidence`` holds the figures that decided it."""

    code: str
    message: str
    evidence: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reasons: tuple[Reason, ...] = ()
    # For review and hold: until when the list may wait; None takes the step's default.
    hold_until: datetime.datetime | None = None

    @classmethod
    def passed(cls) -> Decision:
        return cls(Verdict.PASS)


class Participant(Protocol):
    """A system that must let a list through before it is declared."""

    name: str

    def reserve(self, facts: ListFacts) -> Decision:
        """Judge the list and, on pass, reserve what its release will use (idempotent per ref)."""
        ...

    def consume(self, ref: ListRef) -> None:
        """Customs released the list: what was reserved is used."""
        ...

    def release(self, ref: ListRef, *, outcome: str) -> None:
        """The list will not be released under this version (``outcome``: its new status)."""
        ...


@dataclass(frozen=True)
class Review:
    """A regulator's conclusion on a list a system sent to review."""

    ref: ListRef
    approved: bool
    reason: str
    # Who concluded it, as the audit log names them ("user:12 alice").
    reviewer: str


class ReviewFollower(Protocol):
    """A participant that wants to know how the reviews it asked for ended (optional)."""

    def reviewed(self, review: Review) -> None:
        """Record the regulator's conclusion; asked again about ``review.ref`` after an
        approval, the system should let the list pass (the review is what it asked for)."""
        ...


_PARTICIPANTS: dict[str, Participant] = {}
_RECONSIDER: list[Callable[[int], None]] = []


def register_participant(participant: Participant) -> None:
    """Called once per system at start-up. A second registration of a name is an error."""
    if participant.name in _PARTICIPANTS:
        msg = f"a declare-step participant named {participant.name!r} is already registered"
        raise ImproperlyConfigured(msg)
    _PARTICIPANTS[participant.name] = participant


def unregister_participant(name: str) -> None:
    """Remove a participant (tests that register their own)."""
    _PARTICIPANTS.pop(name, None)


def participants() -> tuple[Participant, ...]:
    """The registered systems, in name order (the order they are asked and told)."""
    return tuple(_PARTICIPANTS[name] for name in sorted(_PARTICIPANTS))


def participant(name: str) -> Participant | None:
    return _PARTICIPANTS.get(name)


def review_concluded(review: Review) -> None:
    """Tell every participant that follows reviews how one ended (before the list is judged
    again after an approval, in the transaction of the list's move)."""
    for system in participants():
        follow = getattr(system, "reviewed", None)
        if follow is not None:
            follow(review)


def register_reconsider(callback: Callable[[int], None]) -> None:
    """Called by the app that owns lists: how a held list is judged again."""
    if _RECONSIDER:
        msg = "the declare step's reconsider callback is already registered"
        raise ImproperlyConfigured(msg)
    _RECONSIDER.append(callback)


def reconsider(*, inventory_id: int) -> None:
    """A system changed its mind about a held list (a review concluded, a guarantee topped
    up): the list is judged again now. Call it after the change committed."""
    for callback in _RECONSIDER:
        callback(inventory_id)


# --- Lists customs numbered ---------------------------------------------------------------------
#
# Customs names a list it took by its own number (``invtNo``): the tax bill (CEB816) and its
# status changes (CEB818) carry nothing else that is sure to be there. A system that receives
# such a message asks the app that owns lists, through this register, which list (and which
# version of it) the number is, as facts of the same kind as ``ListFacts``.


@dataclass(frozen=True)
class ItemTaxFacts:
    """One line of the single window's tax estimate (CNY, two decimals)."""

    gnum: int
    gcode: str
    dutiable_value: Decimal
    customs_tax: Decimal
    value_added_tax: Decimal
    consumption_tax: Decimal


@dataclass(frozen=True)
class CustomsListFacts:
    """A list customs gave a number to: its key, its parties and the estimate of its tax."""

    ref: ListRef
    invt_no: str
    cop_no: str
    status: str
    ebp_code: str
    ebc_code: str
    agent_code: str
    assure_code: str
    logistics_code: str
    order_no: str
    customs_code: str
    tax: TaxFacts | None
    tax_items: tuple[ItemTaxFacts, ...]


_LIST_LOOKUP: list[Callable[[str], CustomsListFacts | None]] = []


def register_list_lookup(lookup: Callable[[str], CustomsListFacts | None]) -> None:
    """Called by the app that owns lists: how a list is found by its customs number."""
    if _LIST_LOOKUP:
        msg = "the declare step's list lookup is already registered"
        raise ImproperlyConfigured(msg)
    _LIST_LOOKUP.append(lookup)


def list_by_customs_number(invt_no: str) -> CustomsListFacts | None:
    """The list customs numbered ``invt_no`` (its live version), or None: not numbered yet,
    unknown, or no app that owns lists is installed."""
    if not invt_no:
        return None
    for lookup in _LIST_LOOKUP:
        return lookup(invt_no)
    return None
