"""The events logistics publishes to enterprises, registered with the hub at start-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from single_window.event_types import register_event_type

# A waybill had no tracking event for longer than the usual time of its status and route
# (the carrier and the parcel's e-commerce enterprise are told).
WAYBILL_DELAYED = "logistics.waybill_delayed"
# A carrier reported a parcel delivered whose list customs had not released.
DELIVERED_BEFORE_RELEASE = "logistics.delivered_before_release"
# A 1210 list was held for its bonded stock (an item short, or a book or item not kept): told
# to the warehouse operator (areaCode) and the declaring agent.
STOCK_INSUFFICIENT = "logistics.stock_insufficient"


def register() -> None:
    """Called once, from ``LogisticsConfig.ready``."""
    register_event_type(WAYBILL_DELAYED, _("waybill delayed"))
    register_event_type(DELIVERED_BEFORE_RELEASE, _("delivered before release"))
    register_event_type(STOCK_INSUFFICIENT, _("bonded stock insufficient"))
