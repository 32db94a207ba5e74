"""Finance's stable codes: the declare step's reasons and the API's error codes, registered
as finance's in ``FinanceConfig.ready``."""

from __future__ import annotations

from core.errors import code_constants, register_error_codes

# The declare step's reasons (a list held for its guarantee).
GUARANTEE_INSUFFICIENT = "guarantee_insufficient"
GUARANTEE_ACCOUNT_MISSING = "guarantee_account_missing"

# The API.
STATEMENT_PERIOD_INVALID = "finance_statement_period_invalid"
GUARANTEE_AMOUNT_INVALID = "finance_guarantee_amount_invalid"
REASON_REQUIRED = "finance_reason_required"


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_error_codes("finance", code_constants(globals()))
