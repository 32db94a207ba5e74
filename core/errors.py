"""Stable error codes and the exception services raise to report them.

A code never changes once published: integrators branch on it. Messages are translated by
``Accept-Language``; the code is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

# Customs XML messages (the answer is a CEB900 message; see declarations.customs.xml)
CONTENT_TOO_LARGE = "content_too_large"
XML_MALFORMED = "xml_malformed"
XML_DOCTYPE_FORBIDDEN = "xml_doctype_forbidden"
XML_MESSAGE_TYPE = "xml_message_type"
XML_SCHEMA_INVALID = "xml_schema_invalid"

# Certificates and message signatures
CERTIFICATE_INVALID = "certificate_invalid"
CERTIFICATE_EXPIRED = "certificate_expired"
CERTIFICATE_DUPLICATE = "certificate_duplicate"
SIGNATURE_MISSING = "signature_missing"
SIGNATURE_INVALID = "signature_invalid"
SIGNATURE_ALGORITHM_UNSUPPORTED = "signature_algorithm_unsupported"
SIGNATURE_CERTIFICATE_NOT_REGISTERED = "signature_certificate_not_registered"


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
