"""Reads of the registry."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from single_window.models import ApiKey, Appointment, Enterprise, Park, RegulatorScope


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


def regulator_parks(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Park] | None:
    """Parks a regulator may see; ``None`` means every park (superusers)."""
    if getattr(user, "is_superuser", False):
        return None
    scopes = list(RegulatorScope.objects.filter(user_id=user.pk)) if user.is_authenticated else []
    districts = [s.customs_district for s in scopes if s.customs_district]
    park_ids = [s.park_id for s in scopes if s.park_id]
    return Park.objects.filter(Q(customs_district__in=districts) | Q(pk__in=park_ids))


def regulator_enterprises(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Enterprise]:
    """Enterprises in a regulator's districts and parks; superusers see all."""
    parks = regulator_parks(user=user)
    if parks is None:
        return Enterprise.objects.all()
    return Enterprise.objects.filter(park__in=parks)
