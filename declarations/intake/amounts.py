"""Numbers in documents are written in ASCII digits.

``Decimal()`` and ``int()`` read every Unicode decimal digit, so DRF's fields took 100 written
in Arabic-Indic (U+0660 to U+0669) or full-width (U+FF10 to U+FF19) digits as 100. A document
is a record passed on to customs as it was written: a number in other digits is refused with
the field's ``invalid`` error, not silently converted.

An amount is answered at the scale it was accepted ("12.50" comes back "12.50"): intake keeps
each amount's scale (``amount_scale``) beside the decimal(19,5) column, and answers and customs
messages write it back at that scale (``amount_text``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers


class AsciiDecimalField(serializers.DecimalField):
    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return super().to_internal_value(data)


class AsciiIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return super().to_internal_value(data)


def amount_scale(value: Decimal) -> int:
    """The decimals an amount is written with, 0 to 5: Decimal("12.50") has 2, Decimal("10") none."""
    exponent = value.as_tuple().exponent
    return min(max(-exponent, 0), 5) if isinstance(exponent, int) else 0


def amount_text(value: Decimal, scale: int | None) -> str:
    """A stored amount at its accepted scale; with none recorded (stored before scales were
    kept), without trailing zeros ("12.5", "10")."""
    if scale is not None:
        return format(value.quantize(Decimal(1).scaleb(-scale)), "f")
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
