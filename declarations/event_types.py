"""The events declarations publishes to enterprises, registered with the hub at start-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from single_window.event_types import register_event_type

DOCUMENT_ACCEPTED = "document.accepted"
INVENTORY_MATCHING_RESULT = "inventory.matching_result"
INVENTORY_STATUS_CHANGED = "inventory.status_changed"
INVENTORY_CANCELLATION_ANSWERED = "inventory.cancellation_answered"
# Customs answered a return request (CEB626): entered, concluded or refused.
INVENTORY_RETURN_ANSWERED = "inventory.return_answered"
# The declare step's systems sent the list to a regulator's review, blocked it, or the review
# cleared it.
INVENTORY_RISK_REVIEW = "inventory.risk_review"
INVENTORY_RISK_BLOCKED = "inventory.risk_blocked"
INVENTORY_RISK_CLEARED = "inventory.risk_cleared"
# A regulator returned the list to its enterprise for correction before it reached customs.
INVENTORY_RETURNED_FOR_CORRECTION = "inventory.returned_for_correction"
# Customs answered a delivery notice (CEB514 to the CEB513 of a parcel signed for).
WAYBILL_DELIVERY_ANSWERED = "waybill.delivery_answered"
# Customs answered a site operator's arrival manifest (CEB712 to its CEB711).
ARRIVAL_ANSWERED = "arrival.answered"


def register() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    register_event_type(DOCUMENT_ACCEPTED, _("document accepted"))
    register_event_type(INVENTORY_MATCHING_RESULT, _("matching result"))
    register_event_type(INVENTORY_STATUS_CHANGED, _("list status changed"))
    register_event_type(INVENTORY_CANCELLATION_ANSWERED, _("cancellation answered"))
    register_event_type(INVENTORY_RETURN_ANSWERED, _("return answered"))
    register_event_type(INVENTORY_RISK_REVIEW, _("list sent to risk review"))
    register_event_type(INVENTORY_RISK_BLOCKED, _("list blocked by risk control"))
    register_event_type(INVENTORY_RISK_CLEARED, _("list cleared in risk review"))
    register_event_type(INVENTORY_RETURNED_FOR_CORRECTION, _("list returned for correction"))
    register_event_type(WAYBILL_DELIVERY_ANSWERED, _("delivery notice answered"))
    register_event_type(ARRIVAL_ANSWERED, _("arrival manifest answered"))
