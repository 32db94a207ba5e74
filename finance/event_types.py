"""The events finance publishes to enterprises, registered with the hub at start-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from single_window.event_types import register_event_type

# Customs issued a list's tax bill (CEB816), reconciled against the single window's estimate;
# customs changed its status (CEB818: summarised, paid, void).
INVENTORY_TAX_BILL = "inventory.tax_bill"
INVENTORY_TAX_BILL_STATUS = "inventory.tax_bill_status"
# A list of the guarantor's was held: its guarantee account does not cover the list's tax.
GUARANTEE_INSUFFICIENT = "finance.guarantee_insufficient"
# A payment company's settlement file was reconciled: to the company, and to the platform and
# e-commerce enterprise of each order with a mismatch (theirs only).
SETTLEMENT_RECONCILED = "finance.settlement_reconciled"
# Trade financing: an institution received an application, or its applicant withdrew it; the
# applicant's application was approved or rejected.
APPLICATION_SUBMITTED = "finance.application_submitted"
APPLICATION_WITHDRAWN = "finance.application_withdrawn"
APPLICATION_DECIDED = "finance.application_decided"


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_event_type(INVENTORY_TAX_BILL, _("tax bill"))
    register_event_type(INVENTORY_TAX_BILL_STATUS, _("tax bill status changed"))
    register_event_type(GUARANTEE_INSUFFICIENT, _("guarantee insufficient"))
    register_event_type(SETTLEMENT_RECONCILED, _("settlement file reconciled"))
    register_event_type(APPLICATION_SUBMITTED, _("financing application received"))
    register_event_type(APPLICATION_WITHDRAWN, _("financing application withdrawn"))
    register_event_type(APPLICATION_DECIDED, _("financing application decided"))
