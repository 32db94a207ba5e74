"""Standard Webhooks signatures (https://www.standardwebhooks.com), both directions.

``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, where the key
is the base64-decoded part of a ``whsec_`` secret. Several signatures may be sent, separated
by spaces (secret rotation); one valid signature is enough.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


class SignatureError(Exception):
    """The request is not signed by the partner, or not recently."""


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def signature_header(*, secrets: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret=s, message_id=message_id, timestamp=timestamp, body=body) for s in secrets)


def verify(*, secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> str:
    """Return the message id when one signature made with ``secret`` matches; else raise."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    # ASCII digits only: isdigit() and int() also take Arabic-Indic, full-width and superscript
    # digits, so one signed time could be sent in many spellings (and "²" made int() raise).
    if not message_id or not (timestamp.isascii() and timestamp.isdigit()) or not signatures:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    if abs((now if now is not None else time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is outside the 5-minute tolerance")
    expected = sign(secret=secret, message_id=message_id, timestamp=int(timestamp), body=body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures.split()):
        raise SignatureError("no webhook-signature matches")
    return message_id
