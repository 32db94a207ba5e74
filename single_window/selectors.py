"""Reads of the registry.

The reads every request makes (the API key and its owner, enterprises by code, appointments)
come from the process cache of ``single_window.registry_cache``: at most
``REGISTRY_CACHE_SECONDS`` old, and emptied by every change saved through the ORM.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Literal

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
    Park,
    WebhookEndpoint,
)
from single_window.registry_cache import (
    CACHE,
    ApiKeySnapshot,
    EnterpriseSnapshot,
    api_key_entry,
    api_key_row_lookups,
    api_key_snapshot,
    enterprise_row_lookups,
    enterprise_snapshots,
)


def today() -> datetime.date:
    """Today in China Standard Time, the calendar every validity date is written in."""
    return timezone.localdate()


def api_key_get_by_digest(*, digest: str) -> ApiKey | None:
    """The key of this digest, revoked or not, with its owner loaded: the enterprise (park
    selected, roles prefetched) or the regulator. None for a digest nobody holds.

    Cached (``registry_cache``): no query on a hit, one on a miss.
    """
    key = api_key_entry(digest)
    snapshot: ApiKeySnapshot | None = CACHE.get(key)
    if snapshot is None:
        ticket = CACHE.ticket()
        rows = ApiKey.objects.filter(digest=digest).order_by().values_list(*api_key_row_lookups())
        snapshot = api_key_snapshot(list(rows))
        if snapshot is None:
            return None
        CACHE.put(key, snapshot, ticket)
    return snapshot.build()


def enterprises_by_codes(codes: Iterable[str | None]) -> dict[str, Enterprise]:
    """The registered enterprises among ``codes`` (customs codes or USCCs), by the code asked,
    each with its park selected and its roles prefetched (``roles`` and ``has_role`` query
    nothing). An enterprise named by both of its codes is one instance. Codes nobody
    registered, and empty ones (``""``, None), are left out.

    Cached (``registry_cache``), codes nobody registered included: no query when every code
    is cached, else one for the codes missing. Each call gets new instances: a caller may
    change and save its own.
    """
    wanted = {code for code in codes if code}
    # A code nobody registered is kept too, as False: documents name such codes again and again.
    cached: dict[str, EnterpriseSnapshot | Literal[False] | None] = {
        code: CACHE.get(("enterprise", code)) for code in wanted
    }
    missing = {code for code, snapshot in cached.items() if snapshot is None}
    if missing:
        ticket = CACHE.ticket()
        rows = (
            Enterprise.objects.filter(Q(customs_code__in=missing) | Q(uscc__in=missing))
            .order_by()
            .values_list(*enterprise_row_lookups())
        )
        for fetched in enterprise_snapshots(rows):
            for code in fetched.codes:
                CACHE.put(("enterprise", code), fetched, ticket)
                if code in missing:
                    cached[code] = fetched
        for code in missing:
            if cached[code] is None:
                CACHE.put(("enterprise", code), False, ticket)
    built: dict[int, Enterprise] = {}
    found: dict[str, Enterprise] = {}
    for code, snapshot in cached.items():
        if snapshot:
            if snapshot.pk not in built:
                built[snapshot.pk] = snapshot.build()
            found[code] = built[snapshot.pk]
    return found


def park_ids_by_code(codes: Iterable[str]) -> dict[str, int]:
    """The ids of the parks with these codes, by code."""
    return dict(Park.objects.filter(code__in=list(codes)).values_list("code", "pk"))


def enterprise_get_by_code(*, code: str) -> Enterprise | None:
    """The enterprise a document names, by customs code or USCC, with its park and roles
    loaded. Cached as ``enterprises_by_codes``."""
    return enterprises_by_codes([code]).get(code)


def codes_naming(*, code: str) -> list[str]:
    """The codes that name the same enterprise as ``code``: ``code`` itself and, when it is
    registered, its other code (customs code or USCC). Cached as ``enterprises_by_codes``."""
    if not code:
        return []
    enterprise = enterprise_get_by_code(code=code)
    return sorted({code, *(enterprise.codes if enterprise is not None else ())})


def _appointment_periods(*, principal_id: int, agent_id: int) -> tuple[tuple[datetime.date, datetime.date], ...]:
    """``(valid_from, valid_to)`` of the pair's appointments not revoked; cached."""
    key = ("appointments", principal_id, agent_id)
    periods: tuple[tuple[datetime.date, datetime.date], ...] | None = CACHE.get(key)
    if periods is None:
        ticket = CACHE.ticket()
        periods = tuple(
            Appointment.objects.filter(principal_id=principal_id, agent_id=agent_id, revoked_at__isnull=True)
            .order_by("valid_from")
            .values_list("valid_from", "valid_to")
        )
        CACHE.put(key, periods, ticket)
    return periods


def appointment_valid(*, principal: Enterprise, agent: Enterprise, on: datetime.date | None = None) -> bool:
    """Does ``agent`` hold an appointment from ``principal`` that is in force ``on`` (today)?

    Cached (``registry_cache``): the pair's periods are kept, the day is judged at each call.
    """
    day = on or today()
    periods = _appointment_periods(principal_id=principal.pk, agent_id=agent.pk)
    return any(valid_from <= day <= valid_to for valid_from, valid_to in periods)


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


def signing_key_usable(*, enterprise: Enterprise) -> bool:
    """Whether the gateway can sign the enterprise's messages now (``signing_key_active``).
    Cached as the registry is (``single_window.registry_cache``): the validity period of the
    active key's certificate is kept, and judged against the clock at every call."""
    key = ("signing_period", enterprise.pk)
    period: tuple[datetime.datetime, datetime.datetime] | Literal[False] | None = CACHE.get(key)
    if period is None:
        ticket = CACHE.ticket()
        row = (
            EnterpriseSigningKey.objects.filter(
                enterprise=enterprise, revoked_at__isnull=True, certificate__revoked_at__isnull=True
            )
            .order_by()
            .values_list("certificate__not_before", "certificate__not_after")
            .first()
        )
        period = row if row is not None else False
        CACHE.put(key, period, ticket)
    if not period:
        return False
    return period[0] <= timezone.now() <= period[1]


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
