"""Random selection for a documentary check, at the rate of the seller's customs credit class.

Reproducible: a list version's point in [0, 1) is an HMAC of its ref under
``RISK_SELECTION_KEY`` (or, without one, ``LOOKUP_HASH_KEY``), so the same version is always
selected or always not, and nobody without the key can predict which. A version is selected
when its point falls below the rate (ASYCUDA's minimum random rate, by credit class).
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from single_window.declare import ListRef

_SCALE = float(2**64)


def selection_key() -> bytes:
    own: str = settings.RISK_SELECTION_KEY
    key = (own or settings.LOOKUP_HASH_KEY).encode()
    if not key:
        msg = "RISK_SELECTION_KEY and LOOKUP_HASH_KEY are empty."
        raise ImproperlyConfigured(msg)
    return key


def selection_point(ref: ListRef, *, key: bytes) -> float:
    """Where the list version falls in [0, 1): the first 8 bytes of HMAC-SHA256(key, ref)."""
    digest = hmac.new(key, f"list:{ref.inventory_id}:{ref.version}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def is_selected(ref: ListRef, *, rate: Decimal | float, key: bytes) -> bool:
    """Is the list version selected at ``rate`` (a fraction: 0.0244 is 2.44 %)?"""
    return selection_point(ref, key=key) < float(rate)
