"""Encryption of data at rest and keyed lookup hashes.

Ciphertexts are ``<key version>$<base64url(nonce || AES-256-GCM ciphertext)>``. The first key
of ``FIELD_ENCRYPTION_KEYS`` encrypts; every listed key decrypts, so a key is rotated by
putting the new one first and re-encrypting at leisure (``needs_reencryption`` tells which).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

_NONCE_BYTES = 12


class DecryptionError(Exception):
    """The value was not made by any configured key, or it was altered."""


@cache
def _keys() -> tuple[tuple[str, AESGCM], ...]:
    parsed: list[tuple[str, AESGCM]] = []
    for entry in settings.FIELD_ENCRYPTION_KEYS:
        version, sep, material = entry.partition(":")
        raw = base64.urlsafe_b64decode(material) if sep else b""
        if not sep or not version.isalnum() or len(raw) != 32:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS entries are '<version>:<base64 of 32 bytes>'.")
        parsed.append((version, AESGCM(raw)))
    if not parsed:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    return tuple(parsed)


@receiver(setting_changed)
def _reset_keys(*, setting: str, **_: object) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _keys.cache_clear()


def encrypt_bytes(plaintext: bytes, *, associated_data: bytes | None = None) -> str:
    version, aead = _keys()[0]
    nonce = os.urandom(_NONCE_BYTES)
    sealed = aead.encrypt(nonce, plaintext, associated_data)
    return f"{version}${base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt_bytes(token: str, *, associated_data: bytes | None = None) -> bytes:
    version, sep, payload = token.partition("$")
    aead = dict(_keys()).get(version)
    if not sep or aead is None:
        raise DecryptionError(f"no key for version {version!r}")
    raw = base64.urlsafe_b64decode(payload)
    try:
        return aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated_data)
    except Exception as exc:  # cryptography raises InvalidTag, or ValueError on a short input
        raise DecryptionError("ciphertext does not authenticate") from exc


def encrypt_text(plaintext: str) -> str:
    return encrypt_bytes(plaintext.encode())


def decrypt_text(token: str) -> str:
    return decrypt_bytes(token).decode()


def needs_reencryption(token: str) -> bool:
    return token.partition("$")[0] != _keys()[0][0]


def lookup_hash(value: str, *, purpose: str) -> str:
    """A keyed SHA-256 of ``value``: equal inputs match, and the table alone reveals nothing.

    ``purpose`` separates domains, so a hash of an ID number can't be compared to a hash
    of a phone number.
    """
    key = settings.LOOKUP_HASH_KEY.encode()
    if not key:
        raise ImproperlyConfigured("LOOKUP_HASH_KEY is empty.")
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
