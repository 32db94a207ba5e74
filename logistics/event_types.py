"""The events logistics publishes to enterprises, registered with the hub at start-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from single_window.event_types import register_event_type

# A 1210 list was held for its bonded stock (an item short, or a book or item not kept): told
# to the warehouse operator (areaCode) and the declaring agent.
STOCK_INSUFFICIENT = "logistics.stock_insufficient"


def register() -> None:
    """Called once, from ``LogisticsConfig.ready``."""
    register_event_type(STOCK_INSUFFICIENT, _("bonded stock insufficient"))
