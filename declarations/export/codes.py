"""Stable error codes of the export documents (registered with declarations' own codes).

Where customs has a code for the same refusal (table 7-2), the answer carries it too
(``customs_code``), as the import documents do.
"""

from __future__ import annotations

# Shape of one document.
EXPORT_ORDER_TYPE_INVALID = "export_order_type_invalid"
EXPORT_IE_FLAG_INVALID = "export_ie_flag_invalid"
EXPORT_TRADE_MODE_UNSUPPORTED = "export_trade_mode_unsupported"
EXPORT_REQUIRED_FOR_TRADE_MODE = "export_required_for_trade_mode"
EXPORT_TOTAL_PRICE_MISMATCH = "export_total_price_mismatch"
EXPORT_GOODS_VALUE_MISMATCH = "export_goods_value_mismatch"
EXPORT_DUPLICATE_GNUM = "export_duplicate_gnum"
EXPORT_FLAG_INVALID = "export_flag_invalid"
EXPORT_STATISTICS_FLAG_INVALID = "export_statistics_flag_invalid"
EXPORT_MSG_SEQUENCE_INVALID = "export_msg_sequence_invalid"
# Who may send it: the party whose code the document names in the sending role.
EXPORT_SENDER_NOT_PARTY = "export_sender_not_party"
EXPORT_PARTY_UNKNOWN = "export_party_unknown"
EXPORT_PARTY_LACKS_ROLE = "export_party_lacks_role"
# Versions and keys.
EXPORT_DUPLICATE = "export_duplicate_document"
EXPORT_STALE_APP_TIME = "export_stale_app_time"
EXPORT_CHANGE_NOT_ALLOWED = "export_change_not_allowed_in_state"
EXPORT_NOT_DOCUMENT_SENDER = "export_not_document_sender"
# The parcel has left the country or was summarised: no list may be declared or changed for it.
EXPORT_PARCEL_DEPARTED = "export_parcel_departed"
EXPORT_PARCEL_SUMMARISED = "export_parcel_summarised"
# A departure names a parcel that has not arrived at the supervised site, or whose list customs
# has not released.
EXPORT_DEPARTURE_NOT_ARRIVED = "export_departure_not_arrived"
EXPORT_DEPARTURE_NOT_RELEASED = "export_departure_list_not_released"
# Cancellations (CEB605).
EXPORT_CANCEL_NOT_ALLOWED = "export_cancel_not_allowed_in_state"
EXPORT_CANCEL_ALREADY_REQUESTED = "export_cancel_already_requested"
# A master bill names a parcel without a list of the agent's own.
EXPORT_MASTER_BILL_UNKNOWN_LIST = "export_master_bill_unknown_list"
# A special-zone (1210) list whose zone account book does not hold its goods (the declare step).
EXPORT_STOCK_SHORT = "export_stock_short"
