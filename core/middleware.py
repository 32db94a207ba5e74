"""Requests refused before any view sees them."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _

from core import errors
from core.errors import FieldError
from core.problems import PROBLEM_CONTENT_TYPE, problem_body, problem_response

# C0 controls and DEL: never part of a code, a number or any name this API serves.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ControlCharactersMiddleware:
    """Refuse control characters in the path (404) and NUL in the query string (400).

    PostgreSQL refuses NUL in text, so ``/api/v1/orders/%00abc/x`` reached the database and
    failed there with a 500; no key holds a control character, so such a path names nothing.
    In the query only NUL is refused: it fails the same way (the admin's search, a filter), while
    other characters are merely values that match nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _CONTROL.search(request.path_info):
            return problem_response(request, 404, errors.NOT_FOUND, _("Not found."))
        with_nul = sorted({name for name, values in request.GET.lists() for v in [name, *values] if "\x00" in v})
        if with_nul:
            message = _("Query parameters may not contain NUL characters.")
            body = problem_body(
                status=400,
                code=errors.VALIDATION_FAILED,
                detail=_("The request has invalid fields."),
                errors_=[FieldError(name, errors.INVALID, message) for name in with_nul],
                instance=request.path,
            )
            return JsonResponse(
                body, status=400, content_type=PROBLEM_CONTENT_TYPE, json_dumps_params={"ensure_ascii": False}
            )
        return self.get_response(request)
