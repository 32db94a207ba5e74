"""Stable error codes, the register of every app's codes, and the exception services raise.

A code never changes once published: integrators branch on it. Messages are translated by
``Accept-Language``; the code is not.

The codes here are core's: authentication, protocol and field validation, shared by every
app. Each app keeps its own codes in its own module and registers them in its
``AppConfig.ready`` (``register_error_codes``), so the whole API's codes can be listed and a
code coined twice is caught at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Authentication and authorisation
NOT_AUTHENTICATED = "not_authenticated"
AUTHENTICATION_MALFORMED = "authentication_malformed"
API_KEY_INVALID = "api_key_invalid"
API_KEY_REVOKED = "api_key_revoked"
ENTERPRISE_SUSPENDED = "enterprise_suspended"
ENTERPRISE_NOT_ACTIVE = "enterprise_not_active"
PERMISSION_DENIED = "permission_denied"
ROLE_REQUIRED = "role_required"
APPOINTMENT_REQUIRED = "appointment_required"

# Protocol
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
NOT_ACCEPTABLE = "not_acceptable"
PARSE_ERROR = "parse_error"
THROTTLED = "throttled"
VALIDATION_FAILED = "validation_failed"
CONFLICT = "conflict"
SERVER_ERROR = "server_error"

# Field validation
REQUIRED = "required"
INVALID = "invalid"
USCC_CHECK_CHARACTER = "uscc_check_character"
USCC_FORMAT = "uscc_format"
CUSTOMS_CODE_FORMAT = "customs_code_format"
ENTERPRISE_CODE_REQUIRED = "enterprise_code_required"
UNKNOWN_ENTERPRISE = "unknown_enterprise"

# Keys
API_KEY_LIMIT_REACHED = "api_key_limit_reached"

# Any request body over the size limit (413), whatever the endpoint
CONTENT_TOO_LARGE = "content_too_large"


# --- The register ----------------------------------------------------------------------------

_CORE_APP = "core"
_CODE_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")

# Code -> the apps that declared it.
_CODES: dict[str, set[str]] = {}
_REGISTERED_APPS: set[str] = set()


def code_constants(namespace: Mapping[str, object]) -> list[str]:
    """The values of a module's UPPER_CASE string constants: ``code_constants(vars(module))``
    for a module that holds codes and nothing else."""
    return [value for name, value in namespace.items() if _CODE_NAME.match(name) and isinstance(value, str)]


def register_error_codes(app_label: str, codes: Iterable[str]) -> None:
    """Declare the codes ``app_label`` answers with; called once per app from its ``ready``.

    A code belongs to one app. The exception is core's codes (``not_found``, ``invalid``,
    ``unknown_enterprise``...): they are the shared vocabulary of every endpoint, so any app may
    declare one it answers with too, and the code keeps its one meaning. Two other apps
    declaring the same code would give integrators one code with two meanings:
    ``ImproperlyConfigured``, as is registering an app twice. Core registers first (it is first
    in ``INSTALLED_APPS``), so what is shared is known before any app declares; an app before
    it is refused rather than judged against a register that is missing core's codes.
    """
    if app_label in _REGISTERED_APPS:
        msg = f"the error codes of {app_label!r} are already registered"
        raise ImproperlyConfigured(msg)
    if app_label != _CORE_APP and _CORE_APP not in _REGISTERED_APPS:
        msg = f"the error codes of {app_label!r} come before core's: put core first in INSTALLED_APPS"
        raise ImproperlyConfigured(msg)
    declared = set(codes)
    for code in sorted(declared):
        declarers = _CODES.get(code, set())
        if declarers and _CORE_APP not in declarers:
            msg = (
                f"the error code {code!r} is declared by {', '.join(sorted(declarers | {app_label}))}: "
                "each app needs codes of its own"
            )
            raise ImproperlyConfigured(msg)
    # Checked in full first: a refused registration leaves the register as it was.
    for code in declared:
        _CODES.setdefault(code, set()).add(app_label)
    _REGISTERED_APPS.add(app_label)


def registered_error_codes() -> frozenset[str]:
    return frozenset(_CODES)


def error_code_apps(code: str) -> frozenset[str]:
    """The apps that declared ``code`` (empty: nobody did)."""
    return frozenset(_CODES.get(code, ()))


@dataclass(frozen=True)
class FieldError:
    field: str | None
    code: str
    message: str | Promise

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "code": self.code, "message": str(self.message)}


class ApiError(Exception):
    """An error a service reports to its caller; the API renders it as problem+json."""

    status_code = 400
    default_code = VALIDATION_FAILED
    default_detail: str | Promise = _("The request is not valid.")

    def __init__(
        self,
        detail: str | Promise | None = None,
        *,
        code: str | None = None,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail if detail is not None else self.default_detail
        self.code = code or self.default_code
        self.errors = errors or []
        self.extra = extra or {}
        super().__init__(str(self.detail))

    @classmethod
    def for_field(cls, field: str | None, code: str, message: str | Promise) -> ApiError:
        return cls(message, code=code, errors=[FieldError(field, code, message)])


class InvalidInput(ApiError):
    status_code = 400


class Conflict(ApiError):
    status_code = 409
    default_code = CONFLICT
    default_detail = _("The request conflicts with the current state of the resource.")


class Forbidden(ApiError):
    status_code = 403
    default_code = PERMISSION_DENIED
    default_detail = _("You do not have permission to perform this action.")


class NotFoundError(ApiError):
    status_code = 404
    default_code = NOT_FOUND
    default_detail = _("Not found.")
