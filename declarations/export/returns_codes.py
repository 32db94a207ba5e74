"""Stable error codes of export returns (``/api/v1/export/returns``)."""

from __future__ import annotations

# Only a list customs released (or summarised, or closed) may have goods returned.
EXPORT_RETURN_NOT_ALLOWED = "export_return_not_allowed_in_state"
# The return's trade mode is not the one of its list: 9661 for a 9610/9710/9810 list, 1261 for 1210.
EXPORT_RETURN_TRADE_MODE = "export_return_trade_mode_mismatch"
# A line names no line of the list, or differs from it (goods code, name, units).
EXPORT_RETURN_UNKNOWN_GNUM = "export_return_unknown_gnum"
EXPORT_RETURN_LINE_MISMATCH = "export_return_line_mismatch"
# More than the list declared (less what earlier returns not refused took), per quantity.
EXPORT_RETURN_QTY_EXCEEDS = "export_return_qty_exceeds_list"
# A return's own key (agent + coElNo) filed before; a change of one customs holds; an older appTime.
EXPORT_RETURN_DUPLICATE = "export_return_duplicate"
EXPORT_RETURN_CHANGE_NOT_ALLOWED = "export_return_change_not_allowed"
EXPORT_RETURN_STALE_APP_TIME = "export_return_stale_app_time"
# The request can't leave for customs (no signing key, no customs partner).
EXPORT_RETURN_NOT_SENDABLE = "export_return_not_sendable"
# A tally of a parcel with no return request, or by someone who is not the site operator.
EXPORT_TALLY_UNKNOWN_RETURN = "export_tally_unknown_return"
EXPORT_TALLY_DUPLICATE = "export_tally_duplicate"
# A quantity of a line that is not above 0.
EXPORT_RETURN_QTY_NOT_POSITIVE = "export_return_qty_not_positive"
