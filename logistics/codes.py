"""Logistics' stable codes: the declare step's reasons and the API's error codes, registered
as logistics' in ``LogisticsConfig.ready``. One module for all of logistics: each part adds
its own block."""

from __future__ import annotations

from core.errors import code_constants, register_error_codes

# --- Tracking --------------------------------------------------------------------------------
# Tracking events: an event for another carrier's waybill (a carrier's key, or its partner's
# signature, is bound to its own logistics code).
LOGISTICS_CODE_NOT_YOURS = "logistics_code_not_yours"
# occurred_at without a UTC offset: the instant it names is unknown.
OCCURRED_AT_OFFSET_REQUIRED = "occurred_at_offset_required"
# More events in one request than the API takes.
TOO_MANY_EVENTS = "tracking_too_many_events"

# --- Bonded stock (1210) ---------------------------------------------------------------------
# The declare step's reasons (a list held for its stock).
STOCK_INSUFFICIENT = "stock_insufficient"
STOCK_ITEM_UNKNOWN = "stock_item_unknown"
STOCK_UNIT_MISMATCH = "stock_unit_mismatch"
# The API.
STOCK_RECEIPT_DUPLICATE = "stock_receipt_duplicate"


def register() -> None:
    """Called once, from ``LogisticsConfig.ready``."""
    register_error_codes("logistics", code_constants(globals()))
