"""Logistics' stable codes: the declare step's reasons and the API's error codes, registered
as logistics' in ``LogisticsConfig.ready``. One module for all of logistics: each part adds
its own block."""

from __future__ import annotations

from core.errors import code_constants, register_error_codes

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
