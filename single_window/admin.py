"""The regulators' console for the registry. Regulators see the districts and parks they
are scoped to; auditors hold view permissions only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.admin import AuditedModelAdmin, admin_actor
from core.errors import ApiError
from single_window import outbox, selectors, services
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
    WebhookEndpoint,
)


class ScopedAdminMixin:
    """Limit the list to what the regulator's districts and parks cover."""

    scope_path = "park"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset(request)  # type: ignore[misc]
        parks = selectors.regulator_parks(user=request.user)
        if parks is None:
            return queryset
        return queryset.filter(**{f"{self.scope_path}__in": parks})


@admin.register(Park)
class ParkAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "city", "customs_district", "kind")
    list_filter = ("kind", "city")
    search_fields = ("code", "name", "city", "customs_district")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Park]:
        parks = selectors.regulator_parks(user=request.user)
        return super().get_queryset(request) if parks is None else parks


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
    list_filter = ("status", "role_set__role", "park")
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
    scope_path = "principal__park"
    list_display = ("principal", "agent", "valid_from", "valid_to", "revoked_at")
    list_filter = ("valid_to",)
    search_fields = ("principal__name", "principal__customs_code", "agent__name", "agent__customs_code")
    list_select_related = ("principal", "agent")
    autocomplete_fields = ("principal", "agent")


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedModelAdmin):
    """Keys are issued here (the key is shown once, in the confirmation) and revoked by action."""

    list_display = ("prefix", "name", "enterprise", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "enterprise__name", "enterprise__customs_code")
    list_select_related = ("enterprise", "user")
    fields = ("enterprise", "user", "name", "throttle_rate")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    autocomplete_fields = ("enterprise",)
    actions = ("revoke",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        queryset = super().get_queryset(request)
        parks = selectors.regulator_parks(user=request.user)
        return queryset if parks is None else queryset.filter(enterprise__park__in=parks)

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
class PartnerAdmin(AuditedModelAdmin):
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
class RegulatorScopeAdmin(AuditedModelAdmin):
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
class EnterpriseCertificateAdmin(AuditedModelAdmin):
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[EnterpriseCertificate]:
        queryset = super().get_queryset(request)
        parks = selectors.regulator_parks(user=request.user)
        return queryset if parks is None else queryset.filter(enterprise__park__in=parks)

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
class OutboxMessageAdmin(AuditedModelAdmin):
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
class WebhookEndpointAdmin(AuditedModelAdmin):
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
class EventAdmin(admin.ModelAdmin[Event]):
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


@admin.register(EnterpriseSigningKey)
class EnterpriseSigningKeyAdmin(admin.ModelAdmin[EnterpriseSigningKey]):
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[EnterpriseSigningKey]:
        queryset = super().get_queryset(request)
        parks = selectors.regulator_parks(user=request.user)
        return queryset if parks is None else queryset.filter(enterprise__park__in=parks)

    @admin.display(description=_("fingerprint"))
    def short_fingerprint(self, obj: EnterpriseSigningKey) -> str:
        return f"{obj.fingerprint_sha256[:16]}…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EnterpriseSigningKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: EnterpriseSigningKey | None = None) -> bool:
        return False
