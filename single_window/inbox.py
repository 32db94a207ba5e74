"""Partners' messages in: verified, stored first, then applied by the system that owns them.

The hub knows no system. A system registers a handler for the message types it owns (in its
``AppConfig.ready``); the hub verifies the partner's Standard Webhooks signature, keeps the
raw body (encrypted: receipts name buyers), acknowledges, and a Celery task applies it. A
message id seen before is acknowledged again and applied once. A body nobody can read stays
stored with the reason.

A partner acts only on its own kind of message: a system registers each handler with the
partner kinds that may send its type, and a message of a type its partner's kind may not send
(a customs receipt signed with a payment company's secret) is stored refused, answered 403 and
never applied.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from celery import current_app
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import decrypt_bytes, decrypt_text, encrypt_bytes
from core.deferred import rows_deferred
from core.errors import ApiError
from single_window import standard_webhooks
from single_window.error_codes import WEBHOOK_MESSAGE_TYPE_NOT_ALLOWED, WEBHOOK_SIGNATURE_INVALID
from single_window.events import events_deferred
from single_window.models import InboxMessage, Partner

logger = logging.getLogger(__name__)

APPLY_TASK = "single_window.apply_inbox_message"
_XML_ROOT = re.compile(rb"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s>/]")


class WebhookUnauthorized(ApiError):
    status_code = 401
    default_code = WEBHOOK_SIGNATURE_INVALID
    default_detail = _("The webhook signature is missing, wrong or stale.")


class MessageTypeNotAllowed(ApiError):
    status_code = 403
    default_code = WEBHOOK_MESSAGE_TYPE_NOT_ALLOWED
    default_detail = _("Partners of this kind may not send messages of this type.")


class InboxRejected(Exception):
    """A handler could read the message but not apply it; the reason is kept on the row."""


@dataclass(frozen=True)
class Received:
    message: InboxMessage
    duplicate: bool


Handler = Callable[[InboxMessage, bytes], str]


@dataclass(frozen=True)
class InboxHandler:
    """How a system applies one message type, and the partner kinds that may send it."""

    apply: Handler
    partner_kinds: frozenset[str]


HANDLERS: dict[str, InboxHandler] = {}
# The type of a message whose body names none (a JSON body without "type"), by partner kind:
# a partner that sends one kind of message needn't name it.
DEFAULT_TYPES: dict[str, str] = {}


def register_handler(
    message_type: str,
    handler: Handler,
    *,
    partner_kinds: Iterable[str],
    default_for_partner_kind: str | None = None,
) -> None:
    """Called by a system at start-up for each message type it applies, naming the partner
    kinds that may send it; with ``default_for_partner_kind`` (one of them), the type of that
    kind's messages whose body names no type.

    A message type has one handler and a partner kind one default type: registering either
    again is ``ImproperlyConfigured``, since the later registration would silently win and
    which one that is would depend on the order of ``INSTALLED_APPS``. So is a handler no
    partner may send to, or a default type its kind may not send.
    """
    kinds = frozenset(partner_kinds)
    if not kinds:
        msg = f"message type {message_type!r} names no partner kind that may send it"
        raise ImproperlyConfigured(msg)
    if default_for_partner_kind is not None and default_for_partner_kind not in kinds:
        msg = f"partner kind {default_for_partner_kind!r} may not send {message_type!r}, its default type"
        raise ImproperlyConfigured(msg)
    if message_type in HANDLERS:
        msg = f"a handler for message type {message_type!r} is already registered"
        raise ImproperlyConfigured(msg)
    if default_for_partner_kind is not None and default_for_partner_kind in DEFAULT_TYPES:
        msg = (
            f"partner kind {default_for_partner_kind!r} already defaults to message type "
            f"{DEFAULT_TYPES[default_for_partner_kind]!r}"
        )
        raise ImproperlyConfigured(msg)
    HANDLERS[message_type] = InboxHandler(apply=handler, partner_kinds=kinds)
    if default_for_partner_kind is not None:
        DEFAULT_TYPES[default_for_partner_kind] = message_type


def refusal(*, message_type: str, partner_kind: str) -> str | None:
    """Why a partner of ``partner_kind`` may not send ``message_type``; None when it may. A type
    no system reads is not refused here: it is stored, and left unreadable when applied."""
    registered = HANDLERS.get(message_type)
    if registered is None or partner_kind in registered.partner_kinds:
        return None
    return f"refused: a {partner_kind} partner may not send {message_type}"


def message_type_of(body: bytes, content_type: str) -> str:
    """The customs message name of an XML body (``CEB622Message``) or the ``type`` of a JSON one."""
    if "json" in content_type:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # nested deeper than json can recurse: unreadable too
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
    """Verify, store and schedule a partner's message. Raises ``WebhookUnauthorized``, and
    ``MessageTypeNotAllowed`` after storing, refused, a message its partner's kind may not send."""
    partner, message_id = _partner_for(partner_kind, headers, body)
    message_type = (message_type_of(body, content_type) or DEFAULT_TYPES.get(partner_kind, ""))[:40]
    refused = refusal(message_type=message_type, partner_kind=partner.kind)
    with transaction.atomic():
        message, created = InboxMessage.objects.get_or_create(
            partner=partner,
            message_id=message_id[:100],
            defaults={
                "content_type": content_type[:100],
                "message_type": message_type,
                "body_encrypted": encrypt_bytes(body),
                # Kept, so the operators see who tried what; never scheduled.
                **(
                    {"state": InboxMessage.State.UNREADABLE, "note": refused, "applied_at": timezone.now()}
                    if refused
                    else {}
                ),
            },
        )
        if created and not refused:
            transaction.on_commit(lambda: _schedule(message.pk))
    if refused:
        logger.warning("inbox message %s from %s refused: %s", message.pk, partner.code, refused)
        raise MessageTypeNotAllowed(extra={"message_id": message.message_id, "message_type": message_type})
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
    message = (
        InboxMessage.objects.select_for_update(of=("self",)).select_related("partner").filter(pk=message_id).first()
    )
    if message is None or message.state != InboxMessage.State.RECEIVED:
        return message
    registered = HANDLERS.get(message.message_type)
    # Checked again here: a row stored before its type was restricted must not slip through.
    refused = refusal(message_type=message.message_type, partner_kind=message.partner.kind)
    if registered is None:
        message.state = InboxMessage.State.UNREADABLE
        message.note = f"no system reads message type {message.message_type or '(unknown)'!r}"
    elif refused:
        message.state = InboxMessage.State.UNREADABLE
        message.note = refused
    else:
        try:
            # The events and audit entries of a message's many receipts are written together.
            with transaction.atomic(), rows_deferred(), events_deferred():
                message.note = registered.apply(message, decrypt_bytes(message.body_encrypted))[:500]
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
