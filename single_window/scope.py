"""A regulator's scope, defined once: what a regulator may see and touch, on every admin page.

A regulator holds customs districts and parks (``RegulatorScope``); a superuser holds
everything. The hub's part of the rule:

- the parks in scope are those of the regulator's districts and the parks named;
- an enterprise is in scope when its park is; keys, appointments (by their principal),
  certificates, signing keys, endpoints, events and deliveries go with their enterprise;
- the audit log shows the entries about rows in scope, and those written by an enterprise in
  scope or by the regulator.

The hub knows no system, so each app registers the rule of its own models
(``register_scope_rule``, from ``AppConfig.ready``), or declares a model nationwide
(``register_nationwide``: the same for every regulator, such as customs reference tables). A
model with neither is shown to superusers only: a new model is hidden until someone says who
may see it. ``ScopedAdminMixin`` applies the register to a ``ModelAdmin``: its list, its
change pages, the choices of its foreign keys, and the saved row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import CharField, Exists, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse

from core.models import AuditEntry
from single_window.models import (
    ApiKey,
    Appointment,
    Enterprise,
    EnterpriseCertificate,
    EnterpriseRole,
    EnterpriseSigningKey,
    Event,
    EventCounter,
    InboundMessage,
    OutboxAttempt,
    OutboxMessage,
    Park,
    Partner,
    RegulatorScope,
    SubscriptionCursor,
    WebhookEndpoint,
)


@dataclass(frozen=True)
class Scope:
    """The districts and parks a regulator holds; ``unlimited`` for superusers."""

    user_id: int | None
    unlimited: bool = False
    districts: frozenset[str] = frozenset()
    park_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, user: AbstractBaseUser | AnonymousUser) -> Scope:
        if getattr(user, "is_superuser", False):
            return cls(user_id=user.pk, unlimited=True)
        if not user.is_authenticated:
            return cls(user_id=None)
        scopes = list(RegulatorScope.objects.filter(user_id=user.pk))
        return cls(
            user_id=user.pk,
            districts=frozenset(s.customs_district for s in scopes if s.customs_district),
            park_ids=frozenset(s.park_id for s in scopes if s.park_id is not None),
        )

    def parks(self) -> QuerySet[Park]:
        """The parks of the regulator's districts, and the parks it is named to."""
        if self.unlimited:
            return Park.objects.all()
        return Park.objects.filter(Q(customs_district__in=self.districts) | Q(pk__in=self.park_ids))

    def enterprises(self) -> QuerySet[Enterprise]:
        """The enterprises of those parks (an enterprise without a park is nobody's)."""
        if self.unlimited:
            return Enterprise.objects.all()
        return Enterprise.objects.filter(park__in=self.parks())

    def enterprise_named(self, field: str) -> Exists:
        """An enterprise of the parks the regulator is *named* to is the one ``field`` (a
        customs code or USCC, as documents name enterprises) names."""
        code = OuterRef(field)
        return Exists(Enterprise.objects.filter(park_id__in=self.park_ids).filter(Q(customs_code=code) | Q(uscc=code)))


ScopeRule = Callable[[Scope], Q]

# Model -> the rows of it a scope covers.
_RULES: dict[type[Model], ScopeRule] = {}
# Models every regulator sees whole.
_NATIONWIDE: set[type[Model]] = set()


def register_scope_rule(model: type[Model], rule: ScopeRule) -> None:
    """The rows of ``model`` a (limited) scope covers; once per model, from ``AppConfig.ready``."""
    if model in _RULES or model in _NATIONWIDE:
        msg = f"the regulators' scope of {model._meta.label} is already registered"
        raise ImproperlyConfigured(msg)
    _RULES[model] = rule


def register_nationwide(*models: type[Model]) -> None:
    """Models every regulator sees whole (reference tables, the hub's partners)."""
    for model in models:
        if model in _RULES or model in _NATIONWIDE:
            msg = f"the regulators' scope of {model._meta.label} is already registered"
            raise ImproperlyConfigured(msg)
        _NATIONWIDE.add(model)


def is_registered(model: type[Model]) -> bool:
    return model in _RULES or model in _NATIONWIDE


def scoped(queryset: QuerySet[Any], scope: Scope) -> QuerySet[Any]:
    """``queryset`` narrowed to ``scope``; empty for a model nobody registered."""
    model = queryset.model._meta.concrete_model
    if scope.unlimited or model in _NATIONWIDE:
        return queryset
    rule = _RULES.get(model)
    return queryset.none() if rule is None else queryset.filter(rule(scope))


def in_scope(obj: Model, scope: Scope) -> bool:
    """Is the stored row ``obj`` in ``scope``?"""
    if scope.unlimited or obj._meta.concrete_model in _NATIONWIDE:
        return True
    return obj.pk is not None and scoped(type(obj)._default_manager.filter(pk=obj.pk), scope).exists()


def scope_for(request: HttpRequest) -> Scope:
    """The requesting user's scope, read once per request."""
    cached: Scope | None = getattr(request, "_regulator_scope", None)
    if cached is None:
        cached = Scope.of(request.user)
        request._regulator_scope = cached  # type: ignore[attr-defined]
    return cached


# --- The admin --------------------------------------------------------------------------------


class ScopedAdminMixin:
    """Applies the register to a ``ModelAdmin``: put it first among the bases.

    - the list, the change and delete pages, the actions and the autocomplete answers show
      rows in scope only (a row out of scope "does not exist": back to the index);
    - every foreign key of the add and change forms offers rows in scope only, so a regulator
      can't point a row at an enterprise, park or user outside its scope;
    - a row out of scope may not be changed or deleted, and a saved row that ends up outside
      the scope is refused (403) before the admin's transaction commits.
    """

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset(request)  # type: ignore[misc]
        return scoped(queryset, scope_for(request))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = scoped(formfield.queryset, scope_for(request))
        return formfield

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = scoped(formfield.queryset, scope_for(request))
        return formfield

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed: bool = super().has_change_permission(request, obj)  # type: ignore[misc]
        return allowed and (obj is None or in_scope(obj, scope_for(request)))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed: bool = super().has_delete_permission(request, obj)  # type: ignore[misc]
        return allowed and (obj is None or in_scope(obj, scope_for(request)))

    # Called by the admin after the row and its inlines are saved, inside the transaction the
    # admin runs each save in: refusing here rolls the save (and its audit entry) back. Checked
    # here, not in save_model, because admins that save through a service override save_model.
    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: str | None = None) -> HttpResponse:
        _refuse_out_of_scope(request, obj)
        response: HttpResponse = super().response_add(request, obj, post_url_continue)  # type: ignore[misc]
        return response

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        _refuse_out_of_scope(request, obj)
        response: HttpResponse = super().response_change(request, obj)  # type: ignore[misc]
        return response


def _refuse_out_of_scope(request: HttpRequest, obj: Model) -> None:
    if not in_scope(obj, scope_for(request)):
        msg = "the saved row would be outside the regulator's scope"
        raise PermissionDenied(msg)


# --- The hub's own models ---------------------------------------------------------------------


def _of_enterprise(path: str) -> ScopeRule:
    return lambda scope: Q(**{f"{path}__in": scope.enterprises()})


def _audit_entries(scope: Scope) -> Q:
    """Entries about a row in scope (by the register: any app's model), or by an actor in scope."""
    about = Q(pk__in=[])
    for model, rule in _RULES.items():
        if model is AuditEntry:
            continue
        ids = model._default_manager.filter(rule(scope)).annotate(_audit_id=Cast("pk", CharField())).values("_audit_id")
        about |= Q(object_type=model._meta.label_lower, object_id__in=ids)
    nationwide = [model._meta.label_lower for model in _NATIONWIDE]
    by = Q(actor_enterprise_id__in=scope.enterprises().values("pk"))
    if scope.user_id is not None:
        by |= Q(actor_user_id=scope.user_id)
    return about | Q(object_type__in=nationwide) | by


def register() -> None:
    """Called once, from ``SingleWindowConfig.ready``."""
    register_scope_rule(Park, lambda scope: Q(pk__in=scope.parks()))
    register_scope_rule(Enterprise, lambda scope: Q(park__in=scope.parks()))
    register_scope_rule(EnterpriseRole, _of_enterprise("enterprise"))
    # By the enterprise that gave it: an agent elsewhere may be appointed by one in scope.
    register_scope_rule(Appointment, _of_enterprise("principal"))
    # An enterprise's keys, and the regulator's own.
    register_scope_rule(
        ApiKey, lambda scope: Q(enterprise__in=scope.enterprises()) | Q(user_id=scope.user_id, user__isnull=False)
    )
    for model in (EnterpriseCertificate, EnterpriseSigningKey, WebhookEndpoint, Event, EventCounter):
        register_scope_rule(model, _of_enterprise("enterprise"))
    register_scope_rule(InboundMessage, _of_enterprise("sender"))
    # Deliveries to enterprises' endpoints; what goes to customs and partners is the operators'.
    register_scope_rule(OutboxMessage, _of_enterprise("webhook_endpoint__enterprise"))
    register_scope_rule(OutboxAttempt, _of_enterprise("message__webhook_endpoint__enterprise"))
    register_scope_rule(
        RegulatorScope, lambda scope: Q(customs_district__in=scope.districts) | Q(park__in=scope.parks())
    )
    # A regulator picks no other user (a key for someone else would be a key for them).
    register_scope_rule(get_user_model(), lambda scope: Q(pk=scope.user_id))
    register_scope_rule(AuditEntry, _audit_entries)
    # The customs authority and the payment companies serve every district.
    register_nationwide(Partner)
    # The systems' reading positions in the events are the operators' (superusers) alone.
    register_scope_rule(SubscriptionCursor, lambda _scope: Q(pk__in=[]))
