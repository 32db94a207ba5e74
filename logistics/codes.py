"""Logistics' stable codes, registered as logistics' in ``LogisticsConfig.ready``."""

from __future__ import annotations

from core.errors import code_constants, register_error_codes

# Tracking events: an event for another carrier's waybill (a carrier's key, or its partner's
# signature, is bound to its own logistics code).
LOGISTICS_CODE_NOT_YOURS = "logistics_code_not_yours"
# occurred_at without a UTC offset: the instant it names is unknown.
OCCURRED_AT_OFFSET_REQUIRED = "occurred_at_offset_required"
# More events in one request than the API takes.
TOO_MANY_EVENTS = "tracking_too_many_events"


def register() -> None:
    """Called once, from ``LogisticsConfig.ready``."""
    register_error_codes("logistics", code_constants(globals()))
