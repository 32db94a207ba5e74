"""Reads one app offers the systems without their importing it: the facts, and the register.

The systems never import ``declarations`` (``docs/architecture.md``), yet some need to read
what it stores: finance reconciles a payment company's settlement file against the payments
that company declared. The hub defines the facts as frozen dataclasses and keeps one lookup
per kind of fact; the app that owns the rows registers its function in ``AppConfig.ready``.
The hub names neither side.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class PaymentFacts:
    """One live payment (its latest version), as a system may know it: keys, parties and the
    amount, nothing personal. ``ebc_code`` is the e-commerce enterprise of the order it pays
    ("" while no live order of that platform and number is stored)."""

    pay_code: str
    pay_transaction_id: str
    order_no: str
    ebp_code: str
    ebc_code: str
    amount_paid: Decimal
    currency: str
    pay_time: datetime.datetime
    status: str


class PaymentLookup(Protocol):
    def __call__(self, *, pay_code: str, start: datetime.datetime, end: datetime.datetime) -> list[PaymentFacts]: ...


_PAYMENT_LOOKUP: list[PaymentLookup] = []


def register_payment_lookup(lookup: PaymentLookup) -> None:
    """Called once, by the app that stores payments; a second registration is an error."""
    if _PAYMENT_LOOKUP:
        msg = "a payment lookup is already registered"
        raise ImproperlyConfigured(msg)
    _PAYMENT_LOOKUP.append(lookup)


def payments_of(*, pay_code: str, start: datetime.datetime, end: datetime.datetime) -> list[PaymentFacts]:
    """The live payments ``pay_code`` declared with a ``pay_time`` from ``start`` (included) to
    ``end`` (excluded), in ``pay_time`` order. ``ImproperlyConfigured`` when no app registered
    a lookup: an empty answer would read as "no payments" and every row as unknown."""
    if not _PAYMENT_LOOKUP:
        msg = "no payment lookup is registered"
        raise ImproperlyConfigured(msg)
    return _PAYMENT_LOOKUP[0](pay_code=pay_code, start=start, end=end)
