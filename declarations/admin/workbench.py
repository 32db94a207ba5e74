"""What regulators did on lists, read-only: notes, assignments, holds, the audit trail of the
workbench's actions, and of exports. Written by ``declarations.workbench.services`` and the
exports (``declarations.admin.exports``); nobody edits them here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from declarations.admin.documents import ReadOnlyAdmin
from declarations.models import ListAssignment, ListExport, ListHold, ListNote, WorkbenchAction


@admin.register(ListNote)
class ListNoteAdmin(ReadOnlyAdmin):
    list_display = ("inventory", "author", "text", "created_at")
    list_select_related = ("inventory", "author")
    search_fields = ("inventory__cop_no", "inventory__order_no", "text")
    fields = ("inventory", "author", "text", "created_at")
    readonly_fields = fields


class MineFilter(admin.SimpleListFilter):
    """A regulator's own work: the lists assigned to it now. (Not a filter by user: that would
    list every user's name, whatever the scope.)"""

    title = _("assignee")
    parameter_name = "mine"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("current", _("assigned to me now")), ("ever", _("assigned to me"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "current":
            return queryset.filter(assignee_id=request.user.pk, ended_at__isnull=True)
        if self.value() == "ever":
            return queryset.filter(assignee_id=request.user.pk)
        return queryset


@admin.register(ListAssignment)
class ListAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("inventory", "assignee", "assigned_by", "reason", "created_at", "ended_at")
    list_filter = (MineFilter, ("ended_at", admin.EmptyFieldListFilter))
    list_select_related = ("inventory", "assignee", "assigned_by")
    search_fields = ("inventory__cop_no", "inventory__order_no")
    fields = ("inventory", "assignee", "assigned_by", "reason", "created_at", "ended_at")
    readonly_fields = fields


@admin.register(ListHold)
class ListHoldAdmin(ReadOnlyAdmin):
    list_display = ("inventory", "held_by", "reason", "created_at", "released_at", "released_by")
    list_filter = (("released_at", admin.EmptyFieldListFilter),)
    list_select_related = ("inventory", "held_by", "released_by")
    search_fields = ("inventory__cop_no", "inventory__order_no")
    fields = ("inventory", "held_by", "reason", "created_at", "released_at", "released_by", "release_reason")
    readonly_fields = fields


@admin.register(WorkbenchAction)
class WorkbenchActionAdmin(ReadOnlyAdmin):
    """The audit trail of the workbench: who did what to which lists, when, and why."""

    list_display = ("at", "actor", "action", "reason", "list_names")
    list_filter = ("action",)
    search_fields = ("actor", "reason", "lists__cop_no")
    date_hierarchy = "at"
    fields = ("at", "actor", "user", "action", "reason", "detail", "list_names")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("lists")

    @admin.display(description=_("declaration lists"))
    def list_names(self, obj: WorkbenchAction) -> str:
        return ", ".join(str(inventory) for inventory in obj.lists.all())


@admin.register(ListExport)
class ListExportAdmin(ReadOnlyAdmin):
    """The audit trail of exports: who exported which page, with which filter, how many rows."""

    list_display = ("at", "actor", "page", "querystring", "row_count", "format", "unmasked")
    list_filter = ("page", "format", "unmasked")
    date_hierarchy = "at"
    fields = ("at", "actor", "user", "page", "querystring", "row_count", "format", "unmasked")
    readonly_fields = fields
