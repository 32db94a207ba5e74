"""The hub's stable error codes: certificates, message signatures, signing keys, webhooks, outbox.

Every code here is registered as the hub's in ``SingleWindowConfig.ready``; the modules that
raise them import them from here (and tests from there or here).
"""

from __future__ import annotations

from core.errors import code_constants, register_error_codes

# Certificates and message signatures (customs answers the same failures with -621015, -621026
# and -621029; see single_window.signatures)
CERTIFICATE_INVALID = "certificate_invalid"
CERTIFICATE_EXPIRED = "certificate_expired"
CERTIFICATE_DUPLICATE = "certificate_duplicate"
SIGNATURE_MISSING = "signature_missing"
SIGNATURE_INVALID = "signature_invalid"
SIGNATURE_ALGORITHM_UNSUPPORTED = "signature_algorithm_unsupported"
SIGNATURE_CERTIFICATE_NOT_REGISTERED = "signature_certificate_not_registered"

# Enterprises' signing keys
SIGNING_KEY_INVALID = "signing_key_invalid"
SIGNING_KEY_MISMATCH = "signing_key_mismatch"
SIGNING_KEY_CERTIFICATE_UNUSABLE = "signing_key_certificate_unusable"

# Webhooks, in (partners' signatures) and out (enterprises' endpoints)
WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"
WEBHOOK_MESSAGE_TYPE_NOT_ALLOWED = "webhook_message_type_not_allowed"
WEBHOOK_URL_NOT_ALLOWED = "webhook_url_not_allowed"
WEBHOOK_EVENT_TYPE_UNKNOWN = "webhook_event_type_unknown"

# The outbox's operators' actions
MESSAGE_NOT_REDELIVERABLE = "outbox_not_redeliverable"
MESSAGE_NOT_DISCARDABLE = "outbox_not_discardable"


def register() -> None:
    """Called once, from ``SingleWindowConfig.ready``."""
    register_error_codes("single_window", code_constants(globals()))
