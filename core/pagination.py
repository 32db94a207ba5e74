"""Pagination shared by the list endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Field, Model, QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView


class CursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination, with a cursor whose position does not fit the ordering field
    answered 404 like any other invalid cursor.

    A cursor is base64 the client can rewrite. DRF checks its offset but filters by its
    position as given: a position that is no time (for an ordering by ``updated_at``) raised
    Django's ``ValidationError`` and one holding NUL PostgreSQL's ``DataError``, both a 500.
    """

    _model: type[Model] | None = None

    def paginate_queryset(
        self, queryset: QuerySet[Any, Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        self._model = queryset.model if isinstance(queryset, QuerySet) else None
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None or self._model is None:
            return cursor
        position = str(cursor.position)  # the text decoded from the cursor
        # PostgreSQL refuses NUL in text whatever the column.
        if "\x00" in position:
            raise NotFound(self.invalid_cursor_message)
        try:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        except FieldDoesNotExist:
            return cursor  # ordered by an annotation: nothing to check it against
        if not isinstance(field, Field):
            return cursor
        try:
            field.to_python(position)
        except ValidationError as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        return cursor
