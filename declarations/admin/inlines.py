"""On a declaration list's page, what regulators did with it: its holds, assignments and notes
(read-only; written by ``declarations.workbench.services``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin
from declarations.models import ListAssignment, ListHold, ListNote


class _Inline(ReadOnlyAdminMixin, admin.TabularInline[Any, Any]):
    extra = 0
    can_delete = False


class ListHoldInline(_Inline):
    model = ListHold
    fields = ("created_at", "held_by", "reason", "released_at", "released_by", "release_reason")
    readonly_fields = fields


class ListAssignmentInline(_Inline):
    model = ListAssignment
    fields = ("created_at", "assignee", "assigned_by", "reason", "ended_at")
    readonly_fields = fields


class ListNoteInline(_Inline):
    model = ListNote
    fields = ("created_at", "author", "text")
    readonly_fields = fields
    verbose_name_plural = _("notes of regulators")


# Shown after the list's items.
LIST_INLINES = (ListHoldInline, ListAssignmentInline, ListNoteInline)
