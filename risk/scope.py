"""Which of risk's rows a regulator sees (``single_window.scope``).

- what the rules found about a list (assessments, hits) goes with the list's customs district
  or park, as the list itself does;
- the rules, watch lists, restricted goods and weight norms are the same for every regulator
  (nationwide): a rule's own scope says which lists it applies to, not who may read it;
- the observation tables are history for the rules and not shown in the admin.
"""

from __future__ import annotations

from django.db.models import Q

from risk.models import Assessment, GoodsRestriction, RiskHit, RiskRule, RiskRuleVersion, WatchListEntry, WeightNorm
from single_window.scope import Scope, register_nationwide, register_scope_rule


def of_a_list(scope: Scope) -> Q:
    parks = scope.parks().values("code")
    return Q(customs_code__in=scope.districts) | (~Q(park_code="") & Q(park_code__in=parks))


def register() -> None:
    """Called once, from ``RiskConfig.ready``."""
    register_scope_rule(Assessment, of_a_list)
    register_scope_rule(RiskHit, of_a_list)
    register_nationwide(RiskRule, RiskRuleVersion, WatchListEntry, GoodsRestriction, WeightNorm)
