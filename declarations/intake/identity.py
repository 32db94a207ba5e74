"""Resident identity card numbers (GB 11643): normalising, checking, protecting."""

from __future__ import annotations

import re

from core.crypto import encrypt_text, lookup_hash
from core.masking import mask_id_number
from single_window import hashes

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
RESIDENT_ID_CARD = "1"


def normalise_id_number(value: str) -> str:
    """Upper-case and without spaces, so ``x`` and ``X`` are one buyer (and one quota)."""
    return hashes.normalise_id_number(value)


def resident_id_check_character(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def is_valid_resident_id(value: str) -> bool:
    """ISO 7064 MOD 11-2 over a normalised 18-character number."""
    return bool(ID_PATTERN.fullmatch(value)) and resident_id_check_character(value[:17]) == value[17]


def id_number_hash(normalised: str) -> str:
    return lookup_hash(normalised, purpose=hashes.ID_NUMBER_PURPOSE)


def protect_id_number(value: str) -> tuple[str, str]:
    """The ciphertext and the lookup hash of an ID number; the plaintext goes no further."""
    normalised = normalise_id_number(value)
    return encrypt_text(normalised), id_number_hash(normalised)


def masked_id_number(value: str) -> str:
    return mask_id_number(value) or ""
