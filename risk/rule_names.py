"""The names of risk control's rules and reasons, in the reader's language.

A rule is stored with a stable code (``watch_list``) and a name a regulator may edit. The
default rules' names and the codes of the reasons the declare step records are translated here,
so the regulators' pages show words in English and Chinese, never the code alone; a rule a
regulator added keeps the name it was given.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from risk.services import REVIEW_REJECTED

RULE_NAMES: dict[str, Promise] = {
    "watch_list": _("Watch lists: enterprise, buyer, phone, address"),
    "restricted_goods": _("Goods restricted by the positive list's remark"),
    "order_splitting": _("Orders split to stay under the 5,000 CNY limit"),
    "identity_farming_phone": _("One consignee phone, many buyers"),
    "identity_farming_address": _("One consignee address, many buyers"),
    "buyer_addresses": _("One buyer, many addresses"),
    "buyer_velocity": _("Too many parcels for one buyer in a day"),
    "credit_class": _("An enterprise of a dishonest credit class"),
    "random_selection": _("Random selection for a documentary check"),
    "price_anomaly": _("Unit price far from the code's history"),
    "weight": _("Gross weight inconsistent with the goods"),
    REVIEW_REJECTED: _("Rejected in risk review"),
}


def risk_rule_name(code: str, stored_name: str = "") -> str:
    """The rule's name in the active language: the translation of a known code, else the name
    stored with the rule, else the code."""
    known = RULE_NAMES.get(code)
    if known is not None:
        return str(known)
    return stored_name or code
