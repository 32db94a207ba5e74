"""Reads of the registry."""

from __future__ import annotations

import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from single_window.models import (
    ApiKey,
    Appointment,
    Enterprise,
    EnterpriseSigningKey,
    Event,
    OutboxAttempt,
    OutboxDestination,
    OutboxMessage,
    WebhookEndpoint,
)


def today() -> datetime.date:
    """Today in China Standard Time, the calendar every validity date is written in."""
    return timezone.localdate()


def enterprise_get_by_code(*, code: str) -> Enterprise | None:
    """The enterprise a document names, by customs code or USCC, with its roles loaded."""
    return (
        Enterprise.objects.prefetch_related("role_set")
        .select_related("park")
        .filter(Q(customs_code=code) | Q(uscc=code))
        .first()
    )


def appointment_valid(*, principal: Enterprise, agent: Enterprise, on: datetime.date | None = None) -> bool:
    """Does ``agent`` hold an appointment from ``principal`` that is in force ``on`` (today)?"""
    day = on or today()
    return Appointment.objects.filter(
        principal=principal, agent=agent, revoked_at__isnull=True, valid_from__lte=day, valid_to__gte=day
    ).exists()


def enterprise_may_act_for(*, actor: Enterprise, principal: Enterprise, on: datetime.date | None = None) -> bool:
    """An enterprise acts in its own name, or for a principal that appointed it."""
    if actor.pk == principal.pk:
        return True
    return appointment_valid(principal=principal, agent=actor, on=on)


def appointments_for(*, enterprise: Enterprise) -> QuerySet[Appointment]:
    """Appointments the enterprise is named in, as principal or as agent."""
    return (
        Appointment.objects.filter(Q(principal=enterprise) | Q(agent=enterprise))
        .select_related("principal", "agent")
        .order_by("-valid_from", "-id")
    )


def api_keys_for(*, enterprise: Enterprise) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(enterprise=enterprise).order_by("-created_at", "-id")


def active_api_key_count(*, enterprise: Enterprise) -> int:
    return ApiKey.objects.filter(enterprise=enterprise, revoked_at__isnull=True).count()


# --- Events and webhooks ---------------------------------------------------------------------


def events_after(*, enterprise: Enterprise, after: int, limit: int) -> list[Event]:
    """The enterprise's events past sequence ``after``, in sequence order."""
    return list(Event.objects.filter(enterprise=enterprise, sequence__gt=after).order_by("sequence")[:limit])


def webhook_endpoints_for(*, enterprise: Enterprise) -> QuerySet[WebhookEndpoint]:
    """The enterprise's endpoints, deleted ones left out."""
    return WebhookEndpoint.objects.filter(enterprise=enterprise, deleted_at__isnull=True).order_by("-created_at", "-id")


def webhook_deliveries_for(
    *, enterprise: Enterprise, endpoint_id: int | None = None, state: str | None = None
) -> QuerySet[OutboxMessage]:
    """Webhook deliveries to the enterprise's live endpoints, newest first, attempts loaded."""
    deliveries = OutboxMessage.objects.filter(
        destination_kind=OutboxDestination.WEBHOOK,
        webhook_endpoint__enterprise=enterprise,
        webhook_endpoint__deleted_at__isnull=True,
    )
    if endpoint_id is not None:
        deliveries = deliveries.filter(webhook_endpoint_id=endpoint_id)
    if state:
        deliveries = deliveries.filter(state=state)
    return deliveries.prefetch_related(
        Prefetch("attempt_log", queryset=OutboxAttempt.objects.order_by("started_at", "id"))
    ).order_by("-id")


def signing_keys_for(*, enterprise: Enterprise) -> QuerySet[EnterpriseSigningKey]:
    """The enterprise's signing keys, active and revoked, newest first."""
    return (
        EnterpriseSigningKey.objects.filter(enterprise=enterprise)
        .select_related("certificate")
        .order_by("-created_at", "-id")
    )


def signing_key_active(*, enterprise: Enterprise) -> EnterpriseSigningKey | None:
    """The key the gateway signs the enterprise's messages with: active, its certificate in force."""
    key = (
        EnterpriseSigningKey.objects.filter(enterprise=enterprise, revoked_at__isnull=True)
        .select_related("certificate")
        .first()
    )
    if key is None or not key.certificate.is_usable_at(timezone.now()):
        return None
    return key
