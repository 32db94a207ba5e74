"""Partners calling the single window: a registered partner and Standard Webhooks headers,
written out by hand (not with the product's signer) so a signing bug can't confirm itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rest_framework.test import APIClient

from core.audit import Actor
from single_window import services
from single_window.models import Partner, PartnerKind

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

CUSTOMS_WEBHOOK = "/api/v1/webhooks/customs"
XML = "application/xml"


@dataclass(frozen=True)
class SigningPartner:
    partner: Partner
    secret: str


def register_partner(code: str = "CUSTOMS-TEST", kind: str = PartnerKind.CUSTOMS) -> SigningPartner:
    partner, secret = services.partner_register(
        code=code, name=f"{code} (test)", kind=kind, actor=Actor.system("tests")
    )
    return SigningPartner(partner=partner, secret=secret)


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``, keyed with the base64-decoded
    part of the secret after ``whsec_``."""
    key = base64.b64decode(secret.split("_", 1)[1])
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secret: str, body: bytes, *, message_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers as Django test client ``extra`` (``HTTP_WEBHOOK_ID`` ...)."""
    message_id = message_id or new_message_id()
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "HTTP_WEBHOOK_ID": message_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(timestamp),
        "HTTP_WEBHOOK_SIGNATURE": signature(secret, message_id, timestamp, body),
    }


def post_webhook(
    body: bytes, headers: dict[str, str], *, url: str = CUSTOMS_WEBHOOK, content_type: str = XML, **extra: Any
) -> ApiResponse:
    request: dict[str, Any] = {**headers, **extra}
    response: ApiResponse = APIClient().post(url, data=body, content_type=content_type, **request)
    return response
