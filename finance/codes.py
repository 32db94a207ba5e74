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


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_error_codes("finance", code_constants(globals()))
