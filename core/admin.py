"""The audit log in the admin, and the base every audited admin uses."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import router, transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.audit import Actor, audit_record, snapshot
from core.models import AuditEntry


def admin_actor(request: HttpRequest) -> Actor:
    user = request.user
    return Actor(label=f"admin:{user.get_username()}", user_id=user.pk)


class ReadOnlyAdminMixin:
    """A page (or inline) regulators read and nobody edits: what it shows is written by services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedModelAdmin(admin.ModelAdmin[Any]):
    """Every add, change and delete made in the admin is written to the audit log.

    Django's admin runs each save in one transaction, so the entry commits with the change.
    A delete writes its entry in the delete's own transaction: Django's "delete selected"
    action runs outside one, and a failure half-way must leave no row deleted unaudited.
    ``audit_extra`` adds related state (such as roles edited inline) to the snapshots.
    """

    def audit_extra(self, obj: Any) -> dict[str, Any]:
        return {}

    def _snapshot(self, obj: Any) -> dict[str, Any]:
        return snapshot(obj, extra=self.audit_extra(obj))

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        if change:
            fresh = type(obj)._default_manager.get(pk=obj.pk)
            request._audit_before = self._snapshot(fresh)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        before = getattr(request, "_audit_before", None)
        audit_record(
            actor=admin_actor(request),
            action=AuditEntry.Action.UPDATE if change else AuditEntry.Action.CREATE,
            instance=obj,
            before=before,
            after=self._snapshot(obj),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic(using=router.db_for_write(type(obj))):
            before = self._snapshot(obj)
            pk = obj.pk
            super().delete_model(request, obj)
            obj.pk = pk
            audit_record(actor=admin_actor(request), action=AuditEntry.Action.DELETE, instance=obj, before=before)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Every selected row deleted and audited, or none (one transaction)."""
        with transaction.atomic(using=router.db_for_write(queryset.model)):
            for obj in queryset:
                self.delete_model(request, obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[Any]):
    list_display = ("at", "actor", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type")
    search_fields = ("actor", "object_repr", "object_id")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False


admin.site.site_header = _("Single Window: regulators' console")
admin.site.site_title = _("Single Window")
admin.site.index_title = _("Registry and review")
