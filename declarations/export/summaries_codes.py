"""Stable error codes of summary declarations (``/api/v1/export/summaries``)."""

from __future__ import annotations

# The period asked for ends before it starts, or is longer than a year.
SUMMARY_PERIOD_INVALID = "summary_period_invalid"
# A concurrent assembly summarised one of the lists between our read and our write.
SUMMARY_LIST_TAKEN = "summary_list_taken"
