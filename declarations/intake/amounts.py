"""Numbers in documents are written in ASCII digits.

``Decimal()`` and ``int()`` read every Unicode decimal digit, so DRF's fields took 100 written
in Arabic-Indic (U+0660 to U+0669) or full-width (U+FF10 to U+FF19) digits as 100. A document
is a record passed on to customs as it was written: a number in other digits is refused with
the field's ``invalid`` error, not silently converted.
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
