"""Standard Webhooks (https://www.standardwebhooks.com): check a delivery's signature.

Each delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``: one or more ``v1,<base64 HMAC-SHA256>`` separated by spaces (two while
the endpoint's secret is being rotated), made over ``"{id}.{timestamp}.{body}"`` with the
base64-decoded part of the ``whsec_`` secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from single_window_client.errors import WebhookVerificationError

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
DEFAULT_TOLERANCE = 300


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as error:
        msg = "the secret is not whsec_ followed by base64"
        raise ValueError(msg) from error


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,`` signature of ``body`` (for tests and for receivers that re-sign)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> str:
    """Check a delivery; return its ``webhook-id`` (the same on every retry: deduplicate on it).

    ``headers`` may be any mapping (names in any case); ``body`` must be the raw body as
    received, before any JSON parsing. Raises ``WebhookVerificationError`` when a header is
    missing, the timestamp is more than ``tolerance`` seconds away from now, or no signature
    matches. Signatures are compared in constant time.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not message_id or not signatures or not (timestamp.isascii() and timestamp.isdigit()):
        msg = "missing or malformed webhook-id, webhook-timestamp or webhook-signature"
        raise WebhookVerificationError(msg)
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        msg = f"webhook-timestamp is more than {tolerance} seconds away from now"
        raise WebhookVerificationError(msg)
    raw = body.encode() if isinstance(body, str) else body
    expected = sign(secret, message_id=message_id, timestamp=int(timestamp), body=raw).encode()
    matched = False
    for candidate in signatures.split():
        # Every candidate is compared, so the time taken does not tell which one matched.
        matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        msg = "no webhook-signature matches"
        raise WebhookVerificationError(msg)
    return message_id
