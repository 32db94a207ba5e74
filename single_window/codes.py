"""Enterprise codes: the customs registration code and the unified social credit code."""

from __future__ import annotations

import re

# GB 32100-2015: the 31 characters a USCC may use (no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_PATTERN = re.compile(rf"^[{USCC_ALPHABET}]{{18}}$")
CUSTOMS_CODE_PATTERN = re.compile(r"^[0-9A-Z]{10}$")
# The same patterns for CheckConstraint (SQL regular expressions).
USCC_SQL_REGEX = r"^[0-9A-HJ-NPQRTUWXY]{18}$"
CUSTOMS_CODE_SQL_REGEX = r"^[0-9A-Z]{10}$"


def uscc_check_character(first17: str) -> str:
    """The 18th character of a USCC whose first 17 are given.

    check = 31 - (sum mod 31); a result of 31 is written ``0``.
    """
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    return bool(USCC_PATTERN.fullmatch(code)) and uscc_check_character(code[:17]) == code[17]


def is_valid_customs_code(code: str) -> bool:
    return bool(CUSTOMS_CODE_PATTERN.fullmatch(code))
