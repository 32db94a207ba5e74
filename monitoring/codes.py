"""The monitoring API's stable error codes, registered as monitoring's in ``MonitoringConfig.ready``."""

from __future__ import annotations

from core.errors import code_constants, register_error_codes

# GET /api/v1/monitoring/summary and /series: a parameter that is missing or malformed.
DATE_INVALID = "monitoring_date_invalid"
DATE_RANGE_INVALID = "monitoring_date_range_invalid"
DATE_RANGE_TOO_LONG = "monitoring_date_range_too_long"
INTERVAL_INVALID = "monitoring_interval_invalid"
DIMENSION_INVALID = "monitoring_dimension_invalid"
FLOW_INVALID = "monitoring_flow_invalid"
FILTER_INVALID = "monitoring_filter_invalid"


def register() -> None:
    """Called once, from ``MonitoringConfig.ready``."""
    register_error_codes("monitoring", code_constants(globals()))
