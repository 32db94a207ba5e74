"""Messages to partners (a payment company's identity verification, …): the outbox sender.

An outbox row of kind ``partner`` names the partner by its code (``destination``); its body
is POSTed as JSON to the partner's ``endpoint_url``, signed with Standard Webhooks headers by
the partner's secret (``webhook-id`` ``msg_<outbox id>``, the same on every retry). A 2xx answer
is delivered; anything else, or no answer within the timeouts, is a failed attempt retried on
the outbox's schedule. Partners' endpoints are set by the operator, not by enterprises, so
they are not held to the public-address rule of enterprises' webhooks.
"""

from __future__ import annotations

import httpx
from django.utils import timezone

from core.crypto import decrypt_text
from single_window import outbox, standard_webhooks
from single_window.delivery import post_for_delivery
from single_window.models import OutboxMessage, Partner

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "single-window-partners/1"


def deliver_to_partner(message: OutboxMessage, body: bytes) -> outbox.DeliveryResult:
    """The outbox sender for ``partner`` messages."""
    partner = Partner.objects.filter(code=message.destination).first()
    if partner is None or not partner.active:
        return outbox.DeliveryResult(ok=False, error=f"no active partner {message.destination!r}")
    if not partner.endpoint_url:
        return outbox.DeliveryResult(ok=False, error=f"partner {partner.code!r} has no endpoint URL")
    msg_id = f"msg_{message.pk}"
    timestamp = int(timezone.now().timestamp())
    signature = standard_webhooks.sign(
        secret=decrypt_text(partner.signing_secret_encrypted), message_id=msg_id, timestamp=timestamp, body=body
    )
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **message.headers,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    return post_for_delivery(url=partner.endpoint_url, body=body, headers=headers, timeout=HTTP_TIMEOUT)
