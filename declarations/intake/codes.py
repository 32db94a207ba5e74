"""Stable error codes of the import documents.

Where customs has a code for the same failure, the answer carries it too
(``customs_code``), so an XML sender sees what a customs receipt would say.
"""

from __future__ import annotations

from core import errors
from core.errors import code_constants, register_error_codes
from declarations.clearance import lifecycle
from declarations.customs import codes as customs_codes
from declarations.export import codes as export_codes
from declarations.export import lifecycle as export_lifecycle
from declarations.export import returns_codes, summaries_codes

INVALID = "invalid"
INVALID_APP_TYPE = "invalid_app_type"
INVALID_APP_STATUS = "invalid_app_status"
CURRENCY_NOT_CNY = "currency_not_cny"
TOTAL_PRICE_MISMATCH = "total_price_mismatch"
GOODS_VALUE_MISMATCH = "goods_value_mismatch"
ACTUAL_PAID_MISMATCH = "actual_paid_mismatch"
DUPLICATE_GNUM = "duplicate_gnum"
ID_TYPE_NOT_RESIDENT_CARD = "id_type_not_resident_card"
ID_NUMBER_INVALID = "id_number_invalid"
REQUIRED_FOR_TRADE_MODE = "required_for_trade_mode"
TRADE_MODE_UNSUPPORTED = "trade_mode_unsupported"
GCODE_FORMAT = "gcode_format"
GCODE_NOT_ON_POSITIVE_LIST = "gcode_not_on_positive_list"
BONDED_ONLY = "positive_list_bonded_only"
UNKNOWN_UNIT = "unknown_unit_code"
UNKNOWN_COUNTRY = "unknown_country_code"
UNKNOWN_ENTERPRISE = "unknown_enterprise"
ENTERPRISE_NOT_ACTIVE = "party_not_active"
ROLE_MISSING = "party_lacks_role"
NOT_YOUR_DOCUMENT = "sender_not_party"
APPOINTMENT_REQUIRED = "appointment_required"
ASSURE_CODE_NOT_PARTY = "assure_code_not_party"
# app_time is further ahead of the single window's clock than APP_TIME_FUTURE_TOLERANCE_SECONDS.
APP_TIME_IN_FUTURE = "app_time_in_future"

DUPLICATE = "duplicate_document"
# A change or deletion of a business key the sender may see but did not send (nor its principal).
NOT_DOCUMENT_SENDER = "not_document_sender"
STALE_APP_TIME = "stale_app_time"
CHANGE_NOT_ALLOWED = "change_not_allowed_in_state"
CANCEL_NOT_ALLOWED = "cancel_not_allowed_in_state"
CANCEL_ALREADY_REQUESTED = "cancel_already_requested"
# The cancellation can't leave for customs (no signing key of the declarant, no customs partner).
CANCEL_NOT_SENDABLE = "cancel_not_sendable"
# Return requests (CEB625): only a released list, within RETURN_WINDOW of its release.
RETURN_NOT_ALLOWED = "return_not_allowed_in_state"
RETURN_WINDOW_CLOSED = "return_window_closed"
# A line the list does not have, a quantity not above 0, more than remains of the line, nothing left.
RETURN_UNKNOWN_GNUM = "return_unknown_gnum"
RETURN_QTY_NOT_POSITIVE = "return_qty_not_positive"
RETURN_QTY_EXCEEDS_REMAINING = "return_qty_exceeds_remaining"
RETURN_NOTHING_LEFT = "return_nothing_left"
# A CEB625 whose InvtRefund names another list than the one of the URL.
RETURN_OTHER_LIST = "return_names_another_list"
# The return can't leave for customs (no signing key of the declarant, no customs partner).
RETURN_NOT_SENDABLE = "return_not_sendable"
# Arrival manifests (CEB711): the operatorCode must be the caller's own code; each line's
# logisticsNo must be a waybill the single window holds for the manifest's logisticsCode; the
# manifest must leave signed for the operator (its signing key, a customs partner).
ARRIVAL_OPERATOR_NOT_CALLER = "arrival_operator_not_caller"
ARRIVAL_UNKNOWN_WAYBILL = "arrival_unknown_waybill"
ARRIVAL_NOT_SENDABLE = "arrival_not_sendable"
# A document of a batch met a parallel request's locks twice: nothing of it was stored; send it again.
DOCUMENT_BUSY = "document_busy"
# A batch with no documents, or more than BATCH_MAX_DOCUMENTS.
BATCH_SIZE = "batch_size"

# Customs' own codes for the same failures (message specification, section 7). A change or
# deletion of a key that isn't there, or that the sender may not see, is core's ``not_found``
# (one answer for both, so it never tells whether someone else's document exists).
CUSTOMS_CODES: dict[tuple[str, str], str] = {
    ("order", DUPLICATE): "-301010",
    ("order", STALE_APP_TIME): "-301014",
    ("order", errors.NOT_FOUND): "-301009",
    ("order", CHANGE_NOT_ALLOWED): "-301011",
    ("payment", DUPLICATE): "-401007",
    ("payment", STALE_APP_TIME): "-401012",
    ("payment", errors.NOT_FOUND): "-401006",
    ("payment", CHANGE_NOT_ALLOWED): "-401008",
    ("waybill", DUPLICATE): "-504012",
    ("waybill", errors.NOT_FOUND): "-504014",
    ("waybill", CHANGE_NOT_ALLOWED): "-504016",
    ("inventory", DUPLICATE): "-621004",
    ("inventory", errors.NOT_FOUND): "-621011",
    ("inventory", CHANGE_NOT_ALLOWED): "-621012",
    ("inventory", APPOINTMENT_REQUIRED): "-621016",
    ("inventory", NOT_YOUR_DOCUMENT): "-621016",
}
# Customs' codes for the same refusals of a return request (table 7-2, -625001 to -625209).
RETURN_CUSTOMS_CODES: dict[str, str] = {
    RETURN_NOT_ALLOWED: "-625022",
    RETURN_UNKNOWN_GNUM: "-625209",
    RETURN_QTY_NOT_POSITIVE: "-625001",
    RETURN_QTY_EXCEEDS_REMAINING: "-625001",
    RETURN_NOTHING_LEFT: "-625006",
    RETURN_OTHER_LIST: "-625016",
}


def register() -> None:
    """All of declarations' error codes, registered once from ``DeclarationsConfig.ready``:
    these, the customs-XML refusals and the lifecycle's. ``invalid``, ``unknown_enterprise``
    and ``appointment_required`` are core's codes too, which any app may answer with."""
    register_error_codes(
        "declarations",
        [
            *code_constants(globals()),
            *code_constants(vars(customs_codes)),
            *code_constants(vars(export_codes)),
            export_lifecycle.TRANSITION_NOT_ALLOWED,
            *code_constants(vars(summaries_codes)),
            *code_constants(vars(returns_codes)),
            lifecycle.TRANSITION_NOT_ALLOWED,
            lifecycle.UNKNOWN_RECEIPT_CODE,
        ],
    )
