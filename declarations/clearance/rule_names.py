"""The names of the rules a list is judged by, in the reader's language.

Rule results, history notes and the review queue store stable codes (``payment_amount_equals_order``);
people read names. Matching's rules are named here; the declare step's reasons come from the
systems (risk's rules by ``risk.rule_names``, finance's and logistics' codes here), and a code
nobody named is shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from declarations.clearance import match_rules
from declarations.clearance.declare import DECLARE_TIMEOUT, SYSTEM_UNAVAILABLE
from finance import codes as finance_codes
from logistics import codes as logistics_codes
from risk.rule_names import RULE_NAMES as RISK_RULE_NAMES

# A system's answer in the declare step is recorded as the rule "declare:<system>".
DECLARE_PREFIX = "declare:"

MATCHING_RULE_NAMES: dict[str, Promise] = {
    match_rules.DOCUMENTS_LINKED: _("The order, payment and waybill are declared and linked"),
    match_rules.PAYMENT_AMOUNT: _("The amount paid equals the order's"),
    match_rules.ORDER_SUMS: _("The order's amounts add up"),
    match_rules.PAYER_IS_BUYER: _("The payer is the buyer"),
    match_rules.CONSIGNEE_MATCHES: _("The waybill's consignee matches the order's"),
    match_rules.ITEMS_MATCH: _("The list's items match the order's"),
    match_rules.ITEMS_SEQUENCE: _("Items numbered in sequence"),
    match_rules.FREIGHT_MATCHES: _("The list's freight matches the waybill's"),
    match_rules.ONE_PACKAGE: _("One package per waybill"),
    match_rules.CUSTOMS_ACCEPTED: _("No document refused by customs"),
    match_rules.BUYER_MATCHES: _("The list's buyer matches the order's"),
    match_rules.ID_TYPES: _("Buyer and payer hold resident identity cards"),
    match_rules.QUOTA_SINGLE: _("Within the single-transaction limit"),
    match_rules.QUOTA_ANNUAL: _("Within the annual limit"),
    match_rules.POSITIVE_LIST: _("Goods on the positive list"),
    match_rules.AGENT_APPOINTED: _("The declaring agent is appointed"),
    DECLARE_TIMEOUT: _("A system of the declare step did not let the list through in time"),
    SYSTEM_UNAVAILABLE: _("A system of the declare step did not answer"),
}

REASON_NAMES: dict[str, Promise] = {
    finance_codes.GUARANTEE_ACCOUNT_MISSING: _("The guarantor has no guarantee account"),
    finance_codes.GUARANTEE_INSUFFICIENT: _("The guarantee does not cover the tax"),
    logistics_codes.STOCK_ITEM_UNKNOWN: _("The bonded stock has no such item"),
    logistics_codes.STOCK_INSUFFICIENT: _("Not enough bonded stock"),
}

# The systems of the declare step, as their answers name them.
SYSTEM_NAMES: dict[str, Promise] = {
    "risk": _("risk control"),
    "finance": _("finance"),
    "logistics": _("logistics"),
}


def rule_name(code: str) -> str:
    """The name of a matching rule, a declare-step answer or a system's reason, in the active
    language; the code itself when nobody named it."""
    if code.startswith(DECLARE_PREFIX):
        system = code.removeprefix(DECLARE_PREFIX)
        return gettext("Declare step: %(system)s") % {"system": system_name(system)}
    for names in (MATCHING_RULE_NAMES, RISK_RULE_NAMES, REASON_NAMES):
        known = names.get(code)
        if known is not None:
            return str(known)
    return code


def rule_names(codes: Iterable[str]) -> str:
    return ", ".join(rule_name(code) for code in codes)


def system_name(system: str) -> str:
    known = SYSTEM_NAMES.get(system)
    return str(known) if known is not None else system
