"""Partners' messages in: verified, stored first, then applied by the system that owns them.

The hub knows no system. A system registers a handler for the message types it owns (in its
``AppConfig.ready``); the hub verifies the partner's Standard Webhooks signature, keeps the
raw body (encrypted: receipts name buyers), acknowledges, and a Celery task applies it. A
message id seen before is acknowledged again and applied once. A body nobody can read stays
stored with the reason.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from celery import current_app
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import decrypt_bytes, decrypt_text, encrypt_bytes
from core.errors import ApiError
from single_window import standard_webhooks
from single_window.models import InboxMessage, Partner

logger = logging.getLogger(__name__)

WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"
APPLY_TASK = "single_window.apply_inbox_message"
_XML_ROOT = re.compile(rb"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s>/]")


class WebhookUnauthorized(ApiError):
    status_code = 401
    default_code = WEBHOOK_SIGNATURE_INVALID
    default_detail = _("The webhook signature is missing, wrong or stale.")


class InboxRejected(Exception):
    """A handler could read the message but not apply it; the reason is kept on the row."""


@dataclass(frozen=True)
class Received:
    message: InboxMessage
    duplicate: bool


Handler = Callable[[InboxMessage, bytes], str]
HANDLERS: dict[str, Handler] = {}
# The type of a message whose body names none (a JSON body without "type"), by partner kind:
# a partner that sends one kind of message needn't name it.
DEFAULT_TYPES: dict[str, str] = {}


def register_handler(message_type: str, handler: Handler, *, default_for_partner_kind: str | None = None) -> None:
    """Called by a system at start-up for each message type it applies; with
    ``default_for_partner_kind``, the type of that kind's messages whose body names no type."""
    HANDLERS[message_type] = handler
    if default_for_partner_kind is not None:
        DEFAULT_TYPES[default_for_partner_kind] = message_type


def message_type_of(body: bytes, content_type: str) -> str:
    """The customs message name of an XML body (``CEB622Message``) or the ``type`` of a JSON one."""
    if "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            return ""
        return str(data.get("type", "")) if isinstance(data, dict) else ""
    start = body.find(b"<", body.find(b"?>") + 2 if body.lstrip().startswith(b"<?xml") else 0)
    match = _XML_ROOT.match(body, start) if start >= 0 else None
    return match.group(1).decode() if match else ""


def _partner_for(kind: str, headers: Mapping[str, str], body: bytes) -> tuple[Partner, str]:
    for partner in Partner.objects.filter(kind=kind, active=True):
        try:
            message_id = standard_webhooks.verify(
                secret=decrypt_text(partner.signing_secret_encrypted), headers=headers, body=body
            )
        except standard_webhooks.SignatureError:
            continue
        return partner, message_id
    raise WebhookUnauthorized


def inbox_receive(*, partner_kind: str, headers: Mapping[str, str], body: bytes, content_type: str) -> Received:
    """Verify, store and schedule a partner's message. Raises ``WebhookUnauthorized``."""
    partner, message_id = _partner_for(partner_kind, headers, body)
    with transaction.atomic():
        message, created = InboxMessage.objects.get_or_create(
            partner=partner,
            message_id=message_id[:100],
            defaults={
                "content_type": content_type[:100],
                "message_type": (message_type_of(body, content_type) or DEFAULT_TYPES.get(partner_kind, ""))[:40],
                "body_encrypted": encrypt_bytes(body),
            },
        )
        if created:
            transaction.on_commit(lambda: _schedule(message.pk))
    return Received(message=message, duplicate=not created)


def _schedule(message_id: int) -> None:
    try:
        # By the task's name (single_window.tasks.apply_inbox_message imports this module).
        current_app.send_task(APPLY_TASK, kwargs={"inbox_message_id": message_id})
    except Exception:  # the broker is down: the periodic sweep applies the stored row later
        logger.warning("broker unavailable; inbox message %s waits for the sweep", message_id, exc_info=True)


@transaction.atomic
def inbox_apply(*, message_id: int) -> InboxMessage | None:
    """Apply a stored message once; a message already applied or refused is left alone."""
    message = InboxMessage.objects.select_for_update().filter(pk=message_id).first()
    if message is None or message.state != InboxMessage.State.RECEIVED:
        return message
    handler = HANDLERS.get(message.message_type)
    if handler is None:
        message.state = InboxMessage.State.UNREADABLE
        message.note = f"no system reads message type {message.message_type or '(unknown)'!r}"
    else:
        try:
            with transaction.atomic():
                message.note = handler(message, decrypt_bytes(message.body_encrypted))[:500]
            message.state = InboxMessage.State.APPLIED
        except InboxRejected as exc:
            message.state = InboxMessage.State.UNREADABLE
            message.note = str(exc)[:500]
    message.applied_at = timezone.now()
    message.save(update_fields=["state", "note", "applied_at"])
    return message


def inbox_pending_ids(*, limit: int = 200) -> list[int]:
    """Messages stored but not yet applied (the broker was down, or a worker died)."""
    return list(
        InboxMessage.objects.filter(state=InboxMessage.State.RECEIVED)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
