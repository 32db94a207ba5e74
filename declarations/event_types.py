"""The events declarations publishes to enterprises, registered with the hub at start-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from single_window.event_types import register_event_type

DOCUMENT_ACCEPTED = "document.accepted"
INVENTORY_MATCHING_RESULT = "inventory.matching_result"
INVENTORY_STATUS_CHANGED = "inventory.status_changed"
INVENTORY_TAX_BILL = "inventory.tax_bill"
INVENTORY_CANCELLATION_ANSWERED = "inventory.cancellation_answered"


def register() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    register_event_type(DOCUMENT_ACCEPTED, _("document accepted"))
    register_event_type(INVENTORY_MATCHING_RESULT, _("matching result"))
    register_event_type(INVENTORY_STATUS_CHANGED, _("list status changed"))
    register_event_type(INVENTORY_TAX_BILL, _("tax bill"))
    register_event_type(INVENTORY_CANCELLATION_ANSWERED, _("cancellation answered"))
