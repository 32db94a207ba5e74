"""OpenAPI pieces every endpoint shares: the problem+json schema and its examples."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from core import errors
from core.problems import PROBLEM_CONTENT_TYPE


class FieldErrorSerializer(serializers.Serializer[Any]):
    field = serializers.CharField(
        allow_null=True, help_text="Path of the field, e.g. items[0].gcode; null for the request as a whole."
    )
    code = serializers.CharField(help_text="Stable code; branch on this, not on the message.")
    message = serializers.CharField(help_text="Human-readable, in the language of Accept-Language.")


class ProblemSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    instance = serializers.CharField(required=False)


# "errors" would shadow Serializer.errors as a class attribute; the schema still needs it.
ProblemSerializer._declared_fields["errors"] = FieldErrorSerializer(many=True, required=False)


_EXAMPLES: dict[int, tuple[str, str, str, list[dict[str, Any]] | None]] = {
    400: (
        errors.VALIDATION_FAILED,
        "Bad request",
        "The request has invalid fields.",
        [{"field": "name", "code": errors.REQUIRED, "message": "This field is required."}],
    ),
    401: (errors.API_KEY_INVALID, "Unauthorized", "The API key is not valid.", None),
    403: (errors.ENTERPRISE_SUSPENDED, "Forbidden", "The enterprise is suspended.", None),
    404: (errors.NOT_FOUND, "Not found", "Not found.", None),
    409: (errors.CONFLICT, "Conflict", "The request conflicts with the current state of the resource.", None),
    413: ("content_too_large", "Content too large", "The message is larger than the limit.", None),
    422: (
        "idempotency_key_reused",
        "Unprocessable content",
        "This Idempotency-Key was used with a different request.",
        None,
    ),
    415: (
        errors.UNSUPPORTED_MEDIA_TYPE,
        "Unsupported media type",
        'Unsupported media type "text/plain" in request.',
        None,
    ),
    429: (errors.THROTTLED, "Too many requests", "Request was throttled. Expected available in 12 seconds.", None),
}


def problem(status: int, description: str = "") -> OpenApiResponse:
    code, title, detail, field_errors = _EXAMPLES[status]
    value: dict[str, Any] = {
        "type": f"urn:single-window:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": "/api/v1/...",
    }
    if field_errors:
        value["errors"] = field_errors
    return OpenApiResponse(
        ProblemSerializer,
        description=description or title,
        examples=[OpenApiExample(title, value=value, status_codes=[str(status)], response_only=True)],
    )


def problems(*statuses: int) -> dict[tuple[int, str], OpenApiResponse]:
    """Error responses of an endpoint; 401, 403 and 429 apply to every authenticated one.

    Keyed by (status, media type): errors are served as application/problem+json, not as
    the renderer's application/json, and the schema has to say so.
    """
    return {(status, PROBLEM_CONTENT_TYPE): problem(status) for status in sorted({401, 403, 429, *statuses})}
