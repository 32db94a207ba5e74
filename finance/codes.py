"""Finance's stable codes: the declare step's reasons and the API's error codes, registered
as finance's in ``FinanceConfig.ready``."""

from __future__ import annotations

from core.errors import code_constants, register_error_codes

# The declare step's reasons (a list held for its guarantee).
GUARANTEE_INSUFFICIENT = "guarantee_insufficient"
GUARANTEE_ACCOUNT_MISSING = "guarantee_account_missing"

# Exchange rates
EXCHANGE_RATE_MISSING = "exchange_rate_missing"

# Settlement files (POST /api/v1/finance/settlements)
SETTLEMENT_FILE_INVALID = "settlement_file_invalid"
SETTLEMENT_PERIOD_INVALID = "settlement_period_invalid"
SETTLEMENT_ROW_OUTSIDE_PERIOD = "settlement_row_outside_period"
SETTLEMENT_CURRENCY_UNKNOWN = "settlement_currency_unknown"
SETTLEMENT_TOO_MANY_ROWS = "settlement_too_many_rows"

# The API.
STATEMENT_PERIOD_INVALID = "finance_statement_period_invalid"
GUARANTEE_AMOUNT_INVALID = "finance_guarantee_amount_invalid"
REASON_REQUIRED = "finance_reason_required"
# Trade financing: the institution named is no financial institution (400), an enterprise applies
# to itself (400), an approval above the amount asked (400), a decision or withdrawal of an
# application no longer submitted (409).
FINANCING_INSTITUTION_NOT_FINANCE = "finance_institution_not_finance"
FINANCING_TO_SELF = "finance_application_to_self"
FINANCING_APPROVED_ABOVE_REQUEST = "finance_approved_amount_above_request"
FINANCING_NOT_SUBMITTED = "finance_application_not_submitted"
# Export proceeds (GET /api/v1/finance/export-proceeds): a date not YYYY-MM-DD, or a range that
# ends before it starts or spans more than a year.
EXPORT_PROCEEDS_RANGE_INVALID = "finance_export_proceeds_range_invalid"


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_error_codes("finance", code_constants(globals()))
