"""Outbound webhooks: enterprises' endpoints, Standard Webhooks signing and the sender.

Each delivery carries ``webhook-id`` (``msg_<outbox message id>``, the same on every retry),
``webhook-timestamp`` (seconds, at sending) and ``webhook-signature``: ``v1,<base64
HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"`` keyed with the base64-decoded part of the
``whsec_`` secret. While a rotated-out secret overlaps, both signatures are sent, separated by
a space. A 2xx answer is success; redirects are not followed.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import secrets
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import Actor, audit_record, snapshot
from core.crypto import decrypt_text, encrypt_text
from core.errors import InvalidInput
from core.models import AuditEntry
from single_window import event_types, outbox, standard_webhooks
from single_window.delivery import post_for_delivery
from single_window.error_codes import WEBHOOK_EVENT_TYPE_UNKNOWN, WEBHOOK_URL_NOT_ALLOWED
from single_window.events import event_publish
from single_window.models import Enterprise, OutboxMessage, OutboxState, WebhookEndpoint

SECRET_PREFIX = standard_webhooks.SECRET_PREFIX
SECRET_BYTES = 32
# After a rotation the old secret signs too, for receivers still configured with it.
ROTATION_OVERLAP = datetime.timedelta(hours=24)
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "single-window-webhooks/1"

# The hub's own event (registered in SingleWindowConfig.ready): a delivery was given up.
OUTBOX_DEAD_LETTER = "outbox.dead_letter"


# --- Signing -------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime.datetime) -> list[str]:
    found = [decrypt_text(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        found.append(decrypt_text(endpoint.previous_secret_encrypted))
    return found


def signature_headers(*, endpoint: WebhookEndpoint, msg_id: str, body: bytes) -> dict[str, str]:
    now = timezone.now()
    timestamp = int(now.timestamp())
    signature = standard_webhooks.signature_header(
        secrets=signing_secrets(endpoint, now=now), message_id=msg_id, timestamp=timestamp, body=body
    )
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


# --- Addresses -----------------------------------------------------------------------------


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
    )


def url_refusal(url: str) -> str | None:
    """Why ``url`` may not receive webhooks, or None. Credentials (``user:pass@``) are always
    refused; private, loopback, link-local and reserved addresses unless
    ``WEBHOOK_ALLOW_PRIVATE_URLS``; every resolved address counts."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    # user:password@ would sit in the endpoint table, the audit log and every request log
    # (httpx logs the URL), and go to whoever the host resolves to; the signature is what
    # authenticates a delivery. The reason never repeats the URL.
    if "@" in parts.netloc:
        return "the URL carries credentials"
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError):
        return "the host does not resolve"
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_address_is_public(a) for a in addresses):
        return "the host resolves to a private, loopback, link-local or reserved address"
    return None


def _check_url(url: str) -> None:
    refusal = url_refusal(url)
    if refusal is not None:
        message = _("This URL may not receive webhooks: %(reason)s.") % {"reason": refusal}
        raise InvalidInput.for_field("url", WEBHOOK_URL_NOT_ALLOWED, message)


def _check_event_types(chosen_types: Iterable[str]) -> list[str]:
    chosen = sorted(set(chosen_types))
    unknown = [t for t in chosen if not event_types.is_registered(t)]
    if unknown or not chosen:
        raise InvalidInput.for_field(
            "event_types",
            WEBHOOK_EVENT_TYPE_UNKNOWN,
            _("Choose one or more of: %(types)s.") % {"types": ", ".join(event_types.event_type_names())},
        )
    return chosen


# --- Endpoints -----------------------------------------------------------------------------


@transaction.atomic
def webhook_endpoint_create(
    *, enterprise: Enterprise, url: str, event_types: Iterable[str], actor: Actor
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its secret, shown this once."""
    chosen = _check_event_types(event_types)
    _check_url(url)
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(
        enterprise=enterprise, url=url, event_types=chosen, secret_encrypted=encrypt_text(secret)
    )
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=endpoint, after=snapshot(endpoint))
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: Actor) -> str:
    """A new secret, returned once; the current one keeps signing for ``ROTATION_OVERLAP``."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = new_secret()
    locked.previous_secret_encrypted = locked.secret_encrypted
    locked.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    locked.secret_encrypted = encrypt_text(secret)
    locked.save(
        update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires_at", "updated_at"]
    )
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, instance=locked, reason="webhook secret rotated")
    return secret


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    """Stop delivering to the endpoint and give up what is still waiting for it.

    The row stays (deleted), so its delivery log remains for the admin.
    """
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if locked.deleted_at is not None:
        return
    before = snapshot(locked)
    locked.active = False
    locked.deleted_at = timezone.now()
    locked.save(update_fields=["active", "deleted_at", "updated_at"])
    OutboxMessage.objects.filter(webhook_endpoint=locked, state__in=[OutboxState.PENDING, OutboxState.DEAD]).update(
        state=OutboxState.DISCARDED, last_error="endpoint deleted"
    )
    audit_record(actor=actor, action=AuditEntry.Action.DELETE, instance=locked, before=before, after=snapshot(locked))


# --- Delivery ------------------------------------------------------------------------------


def msg_id_for(message: OutboxMessage) -> str:
    return f"msg_{message.pk}"


def deliver_webhook(message: OutboxMessage, body: bytes) -> outbox.DeliveryResult:
    """The outbox sender for ``webhook`` messages: POST the signed event to its endpoint."""
    endpoint = message.webhook_endpoint
    if endpoint is None or endpoint.deleted_at is not None or not endpoint.active:
        return outbox.DeliveryResult(ok=False, error="the endpoint is inactive or deleted")
    # Checked again at sending: the name may resolve elsewhere since it was registered.
    refusal = url_refusal(endpoint.url)
    if refusal is not None:
        return outbox.DeliveryResult(ok=False, error=f"URL refused: {refusal}")
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **message.headers,
        **signature_headers(endpoint=endpoint, msg_id=msg_id_for(message), body=body),
    }
    return post_for_delivery(url=endpoint.url, body=body, headers=headers, timeout=HTTP_TIMEOUT)


def on_webhook_dead(message: OutboxMessage) -> None:
    """Tell the endpoint's owner through the feed; never about a dead-letter notice itself."""
    endpoint = message.webhook_endpoint
    if endpoint is None or message.message_type == OUTBOX_DEAD_LETTER:
        return
    event_publish(
        enterprise=endpoint.enterprise,
        type=OUTBOX_DEAD_LETTER,
        payload={
            "delivery_id": message.pk,
            "endpoint_id": endpoint.pk,
            "event_type": message.message_type,
            "event_id": message.event_id,
            "attempts": message.attempts,
            "last_error": message.last_error[:200],
        },
        subject=f"delivery:{message.pk}",
        exclude_endpoint_ids=(endpoint.pk,),
    )
