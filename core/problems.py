"""RFC 9457 problem details: the one error shape of the whole API.

Every error, whether raised by a service (``ApiError``), by DRF (authentication, parsing,
validation, throttling, negotiation) or by Django (404 and 500 outside DRF views) leaves
through ``problem_response``, on the API's paths. Pages for people (the admin) get HTML error
pages instead (``handler403`` and the others below).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from core import errors
from core.errors import ApiError, FieldError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES: dict[int, str | Promise] = {
    400: _("Bad request"),
    401: _("Unauthorized"),
    403: _("Forbidden"),
    404: _("Not found"),
    405: _("Method not allowed"),
    406: _("Not acceptable"),
    409: _("Conflict"),
    413: _("Content too large"),
    415: _("Unsupported media type"),
    422: _("Unprocessable content"),
    429: _("Too many requests"),
    500: _("Internal server error"),
    503: _("Service unavailable"),
}

# DRF's exception classes and the stable code each one maps to.
DRF_CODES: dict[type[drf.APIException], str] = {
    drf.NotAuthenticated: errors.NOT_AUTHENTICATED,
    drf.AuthenticationFailed: errors.API_KEY_INVALID,
    drf.PermissionDenied: errors.PERMISSION_DENIED,
    drf.NotFound: errors.NOT_FOUND,
    drf.MethodNotAllowed: errors.METHOD_NOT_ALLOWED,
    drf.NotAcceptable: errors.NOT_ACCEPTABLE,
    drf.UnsupportedMediaType: errors.UNSUPPORTED_MEDIA_TYPE,
    drf.ParseError: errors.PARSE_ERROR,
    drf.Throttled: errors.THROTTLED,
    drf.ValidationError: errors.VALIDATION_FAILED,
}

# DRF's own default codes that are only its internal names; anything else a raiser chose
# deliberately and is kept.
_GENERIC_DRF_CODES = {
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "not_found",
    "method_not_allowed",
    "not_acceptable",
    "unsupported_media_type",
    "parse_error",
    "throttled",
    "invalid",
    "error",
}


def problem_body(
    *,
    status: int,
    code: str,
    detail: str | Promise,
    errors_: Sequence[FieldError] = (),
    instance: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:single-window:problem:{code}",
        "title": str(TITLES.get(status, HTTPStatus(status).phrase)),
        "status": status,
        "detail": str(detail),
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if errors_:
        body["errors"] = [error.as_dict() for error in errors_]
    if extra:
        body.update(extra)
    return body


def flatten_validation(detail: Any, prefix: str | None = None) -> Iterator[FieldError]:
    """Turn DRF's nested error structure into ``field`` paths such as ``items[0].gcode``."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if key in ("non_field_errors", api_settings.NON_FIELD_ERRORS_KEY):
                yield from flatten_validation(value, prefix)
            elif isinstance(key, int):
                # A ListSerializer's errors (LIST_SERIALIZER_ERRORS_AS_DICT) are keyed by index.
                yield from flatten_validation(value, f"{prefix or ''}[{key}]")
            else:
                yield from flatten_validation(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            for item in detail:
                yield from flatten_validation(item, prefix)
        else:
            for index, item in enumerate(detail):
                if item:
                    yield from flatten_validation(item, f"{prefix or ''}[{index}]")
    else:
        code = getattr(detail, "code", None) or errors.INVALID
        yield FieldError(prefix, code, str(detail))


def _from_drf(exc: drf.APIException) -> tuple[str, str | Promise, list[FieldError]]:
    if isinstance(exc, drf.ValidationError):
        field_errors = list(flatten_validation(exc.detail))
        return errors.VALIDATION_FAILED, _("The request has invalid fields."), field_errors
    code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), errors.SERVER_ERROR)
    detail_code = getattr(exc.detail, "code", None)
    if isinstance(detail_code, str) and detail_code not in _GENERIC_DRF_CODES:
        code = detail_code
    return code, str(exc.detail), []


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every error a view raises becomes problem+json."""
    request = context.get("request")
    instance = request.path if request is not None else None
    if isinstance(exc, RequestDataTooBig):
        exc = ApiError(_("The request body is larger than the limit."), code=errors.CONTENT_TOO_LARGE)
        exc.status_code = 413
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()

    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        status, body = (
            exc.status_code,
            problem_body(
                status=exc.status_code,
                code=exc.code,
                detail=exc.detail,
                errors_=exc.errors,
                instance=instance,
                extra=exc.extra,
            ),
        )
    elif isinstance(exc, drf.APIException):
        status = exc.status_code
        code, detail, field_errors = _from_drf(exc)
        body = problem_body(status=status, code=code, detail=detail, errors_=field_errors, instance=instance)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = str(exc.auth_header)  # type: ignore[attr-defined]
        wait = getattr(exc, "wait", None)
        if isinstance(exc, drf.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            body["retry_after"] = int(headers["Retry-After"])
    else:
        return None

    set_rollback()
    return Response(body, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def problem_response(request: HttpRequest, status: int, code: str, detail: str | Promise) -> HttpResponse:
    body = problem_body(status=status, code=code, detail=detail, instance=request.path)
    return JsonResponse(
        body, status=status, content_type=PROBLEM_CONTENT_TYPE, json_dumps_params={"ensure_ascii": False}
    )


# Django's error handlers answer every path. The API's paths (and a client that asks for JSON)
# get problem+json; everything else (the admin, a browser at an unknown address) gets an HTML
# page: a regulator never sees raw JSON, and no page lists the URL patterns.
API_PATH_PREFIX = "/api/"


def wants_problem_json(request: HttpRequest) -> bool:
    """The API's own paths, or a client that accepts JSON and not HTML."""
    if request.path.startswith(API_PATH_PREFIX):
        return True
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


def _error_page(request: HttpRequest, status: int, detail: str | Promise) -> HttpResponse:
    """The HTML error page (core/templates/<status>.html), rendered without the request's
    context processors: a failing database or session must not fail the error page too."""
    body: str
    try:
        body = render_to_string(f"{status}.html", {"status": status, "title": TITLES[status], "detail": detail})
    except Exception:
        logger.exception("the %s error page could not be rendered", status)
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1>"
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def _answer(request: HttpRequest, status: int, code: str, detail: str | Promise) -> HttpResponse:
    if wants_problem_json(request):
        return problem_response(request, status, code, detail)
    return _error_page(request, status, detail)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 404, errors.NOT_FOUND, _("Not found."))


def handler500(request: HttpRequest) -> HttpResponse:
    return _answer(request, 500, errors.SERVER_ERROR, _("The server could not complete the request."))


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 403, errors.PERMISSION_DENIED, _("You do not have permission to perform this action."))


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 400, errors.PARSE_ERROR, _("The request could not be understood."))
