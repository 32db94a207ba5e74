"""The customs credit class of an enterprise, read from the credit system's selectors.

Risk reads credit only through ``credit.selectors``. A class changes by a customs decision
effective from a date, so each process keeps an answer ``CACHE_SECONDS`` (``core.process_cache``)
and a list's parties cost no query in the declare step's hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.process_cache import ProcessCache
from credit import selectors as credit

REGULAR = "regular"
CACHE_SECONDS = 60.0
CACHE = ProcessCache(name="risk-credit-classes", seconds=lambda: CACHE_SECONDS, check_seconds=lambda: CACHE_SECONDS)


@dataclass(frozen=True)
class CustomsClass:
    code: str
    inspection_rate: Decimal


def _read(code: str) -> CustomsClass | None:
    found = credit.customs_class_of(code)
    return None if found is None else CustomsClass(str(found.code), Decimal(str(found.inspection_rate)))


def customs_class_of(code: str) -> CustomsClass | None:
    """The enterprise's class and its inspection rate (a fraction: 0.0244 is 2.44 %); None
    for a list that names no such party."""
    if not code:
        return None
    answer: CustomsClass | None = CACHE.fetch(("class", code), lambda: _read(code))
    return answer
