"""The events finance publishes to enterprises, registered with the hub at start-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from single_window.event_types import register_event_type

# A payment company's settlement file was reconciled: to the company, and to the platform and
# e-commerce enterprise of each order with a mismatch (theirs only).
SETTLEMENT_RECONCILED = "finance.settlement_reconciled"


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_event_type(SETTLEMENT_RECONCILED, _("settlement file reconciled"))
