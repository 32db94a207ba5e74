"""Which of credit's rows a regulator sees: those of the enterprises its districts and parks
cover (the enterprise's park, as the hub's rule says), on every admin page and in the audit
log. A consent goes with the enterprise that granted it, a report read with the enterprise
read. The customs classes are nationwide: customs grades with one table for the country.
"""

from __future__ import annotations

from django.db.models import Q

from credit.models import (
    CreditConsent,
    CreditEvent,
    CreditGradeOverride,
    CreditProfile,
    CreditReportRead,
    CreditScore,
    CreditVolume,
    CustomsClass,
    CustomsClassDecision,
)
from single_window.scope import ScopeRule, register_nationwide, register_scope_rule


def _of_enterprise(path: str) -> ScopeRule:
    return lambda scope: Q(**{f"{path}__in": scope.enterprises()})


def register() -> None:
    """Called once, from ``CreditConfig.ready``."""
    for model in (
        CustomsClassDecision,
        CreditEvent,
        CreditVolume,
        CreditProfile,
        CreditScore,
        CreditGradeOverride,
        CreditReportRead,
    ):
        register_scope_rule(model, _of_enterprise("enterprise"))
    register_scope_rule(CreditConsent, _of_enterprise("grantor"))
    register_nationwide(CustomsClass)
