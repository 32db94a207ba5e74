"""The regulators' console for the registry. Regulators see the districts and parks they
are scoped to (``single_window.scope``, on every page here, the audit log's included);
auditors hold view permissions only."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm, ValidationError
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.admin import AuditedModelAdmin, AuditEntryAdmin, admin_actor
from core.errors import ApiError
from core.models import AuditEntry
from single_window import outbox, services
from single_window.models import (
    ApiKey,
    Appointment,
    Enterprise,
    EnterpriseCertificate,
    EnterpriseRole,
    EnterpriseSigningKey,
    Event,
    OutboxAttempt,
    OutboxMessage,
    Park,
    Partner,
    RegulatorScope,
    SubscriptionCursor,
    WebhookEndpoint,
)
from single_window.scope import ScopedAdminMixin


@admin.register(Park)
class ParkAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("code", "name", "city", "customs_district", "kind")
    list_filter = ("kind", "city")
    search_fields = ("code", "name", "city", "customs_district")


class EnterpriseRoleInline(admin.TabularInline[Any, Any]):
    model = EnterpriseRole
    extra = 1


class EnterpriseForm(ModelForm[Enterprise]):
    class Meta:
        model = Enterprise
        fields = ("customs_code", "uscc", "name", "status", "park", "contact_name", "contact_phone", "contact_email")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for problem in services.validate_enterprise_codes(customs_code=data.get("customs_code"), uscc=data.get("uscc")):
            self.add_error(problem.field, str(problem.message))
        return data


@admin.register(Enterprise)
class EnterpriseAdmin(ScopedAdminMixin, AuditedModelAdmin):
    form = EnterpriseForm
    inlines = (EnterpriseRoleInline,)
    list_display = ("name", "customs_code", "uscc", "status", "park", "role_list")
    # Only the parks of the enterprises listed: the plain filter would name every park.
    list_filter = ("status", "role_set__role", ("park", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "customs_code", "uscc")
    list_select_related = ("park",)
    actions = ("suspend", "activate")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enterprise]:
        return super().get_queryset(request).prefetch_related("role_set")

    @admin.display(description=_("roles"))
    def role_list(self, obj: Enterprise) -> str:
        return ", ".join(sorted(obj.roles))

    def audit_extra(self, obj: Any) -> dict[str, Any]:
        return {"roles": sorted(EnterpriseRole.objects.filter(enterprise_id=obj.pk).values_list("role", flat=True))}

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Enterprise], status: str) -> None:
        for enterprise in queryset:
            services.enterprise_set_status(enterprise=enterprise, status=status, actor=admin_actor(request))
        self.message_user(request, _("%(count)d enterprises updated.") % {"count": queryset.count()})

    @admin.action(description=_("Suspend the selected enterprises"), permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Enterprise]) -> None:
        self._set_status(request, queryset, Enterprise.Status.SUSPENDED)

    @admin.action(description=_("Activate the selected enterprises"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Enterprise]) -> None:
        self._set_status(request, queryset, Enterprise.Status.ACTIVE)


@admin.register(Appointment)
class AppointmentAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("principal", "agent", "valid_from", "valid_to", "revoked_at")
    list_filter = ("valid_to",)
    search_fields = ("principal__name", "principal__customs_code", "agent__name", "agent__customs_code")
    list_select_related = ("principal", "agent")
    autocomplete_fields = ("principal", "agent")


_RATE = re.compile(r"([0-9]+)/(s|sec|m|min|h|hour|d|day)")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def requests_per_second(rate: str) -> float | None:
    """``100/min`` as requests per second; None for what is not a rate (the model refuses it)."""
    found = _RATE.fullmatch(rate)
    return None if found is None else int(found[1]) / _SECONDS[found[2][0]]


class ApiKeyForm(ModelForm[ApiKey]):
    class Meta:
        model = ApiKey
        fields = ("enterprise", "user", "name", "throttle_rate")

    def clean_throttle_rate(self) -> str:
        rate: str = self.cleaned_data.get("throttle_rate", "")
        highest = settings.API_KEY_THROTTLE_RATE_MAX
        wanted, limit = requests_per_second(rate), requests_per_second(highest)
        if wanted is not None and limit is not None and wanted > limit:
            raise ValidationError(
                _("A key's rate may be at most %(highest)s."), code="max_value", params={"highest": highest}
            )
        return rate


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedAdminMixin, AuditedModelAdmin):
    """Keys are issued here (the key is shown once, in the confirmation) and revoked by action.

    A regulator issues keys to enterprises in its scope, or to itself, at a rate no higher than
    ``API_KEY_THROTTLE_RATE_MAX``."""

    form = ApiKeyForm
    list_display = ("prefix", "name", "enterprise", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "enterprise__name", "enterprise__customs_code")
    list_select_related = ("enterprise", "user")
    fields = ("enterprise", "user", "name", "throttle_rate")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    autocomplete_fields = ("enterprise",)
    actions = ("revoke",)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return self.fields
        return ("enterprise", "user", "name", "throttle_rate", *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return self.readonly_fields if obj is None else ("enterprise", "user", *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued, raw_key = services.api_key_issue(
            enterprise=obj.enterprise,
            user_id=obj.user_id,
            name=obj.name,
            throttle_rate=obj.throttle_rate,
            actor=admin_actor(request),
            enforce_limit=False,
        )
        # The admin goes on with the form's instance (history entry, "added" message): give
        # it the issued row's values, the prefix among them.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(issued, field.attname))
        obj._state.adding = False
        self.message_user(
            request,
            _("Key issued. Copy it now; it is not shown again: %(key)s") % {"key": raw_key},
            level=messages.WARNING,
        )

    def save_related(self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool) -> None:
        if change:  # issuing audited in the service
            super().save_related(request, form, formsets, change)

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # keys are revoked, never deleted: the audit needs them

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key, actor=admin_actor(request))
        self.message_user(request, _("%(count)d keys revoked.") % {"count": queryset.count()})


@admin.register(Partner)
class PartnerAdmin(ScopedAdminMixin, AuditedModelAdmin):
    """Partners serve every district (nationwide in the scope); the enterprise named is picked
    from the regulator's scope."""

    list_display = ("code", "name", "kind", "endpoint_url", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    fields = ("code", "name", "kind", "enterprise", "endpoint_url", "active")
    autocomplete_fields = ("enterprise",)
    actions = ("rotate_secret",)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        partner, secret = services.partner_register(
            code=obj.code,
            name=obj.name,
            kind=obj.kind,
            endpoint_url=obj.endpoint_url,
            enterprise=obj.enterprise,
            actor=admin_actor(request),
        )
        obj.pk = partner.pk
        obj._state.adding = False
        self.message_user(
            request,
            _("Partner registered. Its signing secret, shown once: %(secret)s") % {"secret": secret},
            messages.WARNING,
        )

    def save_related(self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    @admin.action(description=_("Rotate the signing secret"), permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset:
            secret = services.partner_rotate_secret(partner=partner, actor=admin_actor(request))
            self.message_user(
                request,
                _("New secret for %(code)s, shown once: %(secret)s") % {"code": partner.code, "secret": secret},
                messages.WARNING,
            )


@admin.register(RegulatorScope)
class RegulatorScopeAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("user", "customs_district", "park")
    search_fields = ("user__username", "customs_district", "park__name")
    autocomplete_fields = ("park",)


class EnterpriseCertificateForm(ModelForm[EnterpriseCertificate]):
    """Adding takes the enterprise and the PEM; the service reads everything else from it."""

    class Meta:
        model = EnterpriseCertificate
        fields = ("enterprise", "certificate_pem")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        pem = data.get("certificate_pem")
        if pem and self.instance.pk is None:
            try:
                services.certificate_validate(certificate_pem=pem)
            except ApiError as exc:
                self.add_error("certificate_pem", str(exc.detail))
        return data


@admin.register(EnterpriseCertificate)
class EnterpriseCertificateAdmin(ScopedAdminMixin, AuditedModelAdmin):
    """Certificates are registered here or over the API, revoked by action, never edited."""

    form = EnterpriseCertificateForm
    list_display = ("enterprise", "subject", "algorithm", "not_after", "revoked_at", "short_fingerprint")
    list_filter = ("algorithm", "revoked_at")
    search_fields = ("enterprise__name", "enterprise__customs_code", "subject", "fingerprint_sha256", "serial_number")
    list_select_related = ("enterprise",)
    autocomplete_fields = ("enterprise",)
    readonly_fields = (
        "fingerprint_sha256",
        "serial_number",
        "subject",
        "algorithm",
        "not_before",
        "not_after",
        "revoked_at",
        "created_at",
    )
    actions = ("revoke",)

    @admin.display(description=_("fingerprint"))
    def short_fingerprint(self, obj: EnterpriseCertificate) -> str:
        return f"{obj.fingerprint_sha256[:16]}…"

    def get_fields(self, request: HttpRequest, obj: EnterpriseCertificate | None = None) -> Any:
        if obj is None:
            return ("enterprise", "certificate_pem")
        return ("enterprise", *self.readonly_fields, "certificate_pem")

    def get_readonly_fields(self, request: HttpRequest, obj: EnterpriseCertificate | None = None) -> Any:
        return () if obj is None else ("enterprise", *self.readonly_fields, "certificate_pem")

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        if change:
            return  # nothing is editable
        registered = services.certificate_register(
            enterprise=obj.enterprise, certificate_pem=obj.certificate_pem, actor=admin_actor(request)
        )
        for field in EnterpriseCertificate._meta.concrete_fields:
            setattr(obj, field.attname, getattr(registered, field.attname))
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool) -> None:
        return  # registration is audited in the service; nothing else is editable

    def has_delete_permission(self, request: HttpRequest, obj: EnterpriseCertificate | None = None) -> bool:
        return False  # revoked, never deleted: verified signatures name their certificate

    @admin.action(description=_("Revoke the selected certificates"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[EnterpriseCertificate]) -> None:
        for certificate in queryset:
            services.certificate_revoke(certificate=certificate, actor=admin_actor(request))
        self.message_user(request, _("%(count)d certificates revoked.") % {"count": queryset.count()})


# --- Outbox and webhooks -------------------------------------------------------------------


class OutboxAttemptInline(admin.TabularInline[Any, Any]):
    model = OutboxAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "status_code", "error", "latency_ms", "response_excerpt")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ScopedAdminMixin, AuditedModelAdmin):
    """Messages to outside systems. Dead ones are redelivered or discarded by action (audited);
    nothing is edited by hand: the payload is encrypted and the relay owns the state."""

    list_display = (
        "id",
        "destination_kind",
        "destination",
        "message_type",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
    )
    list_filter = ("state", "destination_kind", "message_type")
    search_fields = ("ordering_key", "destination", "message_type", "=id")
    readonly_fields = (
        "destination_kind",
        "destination",
        "webhook_endpoint",
        "event",
        "ordering_key",
        "message_type",
        "headers",
        "state",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "last_error",
        "created_at",
        "sent_at",
    )
    fields = readonly_fields
    inlines = (OutboxAttemptInline,)
    actions = ("redeliver", "discard")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[OutboxMessage], service: Any, done: str | Promise
    ) -> None:
        count = 0
        for message in queryset:
            try:
                service(message=message, actor=admin_actor(request))
            except ApiError as exc:
                self.message_user(request, f"#{message.pk}: {exc.detail}", messages.WARNING)
            else:
                count += 1
        self.message_user(request, done % {"count": count})

    @admin.action(description=_("Redeliver the selected messages"), permissions=["change"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        self._apply(request, queryset, outbox.outbox_redeliver, _("%(count)d messages queued again."))

    @admin.action(description=_("Discard the selected messages"), permissions=["change"])
    def discard(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        self._apply(request, queryset, outbox.outbox_discard, _("%(count)d messages discarded."))


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ScopedAdminMixin, AuditedModelAdmin):
    """Enterprises manage their endpoints over the API; regulators may pause one here."""

    list_display = ("id", "enterprise", "url", "active", "deleted_at", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "enterprise__name", "enterprise__customs_code")
    list_select_related = ("enterprise",)
    fields = ("enterprise", "url", "event_types", "active", "previous_secret_expires_at", "deleted_at", "created_at")
    readonly_fields = ("enterprise", "url", "event_types", "previous_secret_expires_at", "deleted_at", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ScopedAdminMixin, admin.ModelAdmin[Event]):
    list_display = ("enterprise", "sequence", "type", "subject", "created_at")
    list_filter = ("type",)
    search_fields = ("subject", "enterprise__customs_code")
    list_select_related = ("enterprise",)
    readonly_fields = ("enterprise", "sequence", "type", "subject", "payload", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False


@admin.register(SubscriptionCursor)
class SubscriptionCursorAdmin(ScopedAdminMixin, admin.ModelAdmin[SubscriptionCursor]):
    """How far each system has read the events, and what holds one back (the operators')."""

    list_display = ("name", "last_event_id", "gap_at", "failures", "failing_event_id", "last_error_at", "updated_at")
    readonly_fields = (
        "name",
        "last_event_id",
        "gap_at",
        "gap_waiting_on",
        "gap_seen_at",
        "failures",
        "failing_event_id",
        "last_error",
        "last_error_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SubscriptionCursor | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SubscriptionCursor | None = None) -> bool:
        return False


@admin.register(EnterpriseSigningKey)
class EnterpriseSigningKeyAdmin(ScopedAdminMixin, admin.ModelAdmin[EnterpriseSigningKey]):
    """Read-only: keys come in over the API only (the private key never passes through the
    admin and is never shown); the certificate part is visible, the ciphertext is not."""

    list_display = ("enterprise", "algorithm", "short_fingerprint", "created_at", "revoked_at")
    list_filter = ("algorithm", "revoked_at")
    search_fields = ("enterprise__name", "enterprise__customs_code", "fingerprint_sha256")
    list_select_related = ("enterprise",)
    fields = (
        "enterprise",
        "certificate",
        "algorithm",
        "fingerprint_sha256",
        "certificate_pem",
        "created_at",
        "revoked_at",
    )
    readonly_fields = fields

    @admin.display(description=_("fingerprint"))
    def short_fingerprint(self, obj: EnterpriseSigningKey) -> str:
        return f"{obj.fingerprint_sha256[:16]}…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EnterpriseSigningKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: EnterpriseSigningKey | None = None) -> bool:
        return False


# --- The audit log ---------------------------------------------------------------------------
# Core shows the log and knows no app; the hub knows whose rows are in whose scope, so the
# regulators' log is core's page with the scope applied: entries about rows in scope, or
# written by an enterprise in scope or by the regulator.
admin.site.unregister(AuditEntry)


@admin.register(AuditEntry)
class ScopedAuditEntryAdmin(ScopedAdminMixin, AuditEntryAdmin):
    pass
