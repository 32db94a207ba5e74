"""The credit system's stable error codes, registered as credit's in ``CreditConfig.ready``."""

from __future__ import annotations

from core.errors import code_constants, register_error_codes

# Consents to read an enterprise's credit
CONSENT_GRANTEE_NOT_FINANCE = "credit_consent_grantee_not_finance"
CONSENT_TO_SELF = "credit_consent_to_self"
CONSENT_EXPIRY_PAST = "credit_consent_expiry_past"
CONSENT_EXPIRY_TOO_LATE = "credit_consent_expiry_too_late"
CONSENT_IN_FORCE = "credit_consent_in_force"

# Regulators' entries (the admin)
CREDIT_EVENT_KIND_NOT_RECORDABLE = "credit_event_kind_not_recordable"
CREDIT_EVENT_WEIGHT_OUT_OF_RANGE = "credit_event_weight_out_of_range"
CREDIT_EVENT_DUPLICATE = "credit_event_duplicate"
CREDIT_EVENT_NOT_ANNULLABLE = "credit_event_not_annullable"
REASON_REQUIRED = "credit_reason_required"
GRADE_OVERRIDE_IN_FORCE = "credit_grade_override_in_force"


def register() -> None:
    """Called once, from ``CreditConfig.ready``."""
    register_error_codes("credit", code_constants(globals()))
