"""Which export returns (CEB213/214) and tallies (CEB215/216) a regulator sees, in the audit log
and on their admin pages (``declarations.admin.export``): by customs district, or the park of
the consignor, declaring agent or site operator, or through the export list in scope they return
goods of (``declarations.admin.scope``)."""

from __future__ import annotations

from django.db.models import Q

from declarations.admin.scope import export_lists_in
from declarations.models.export_returns import ExportReturn, ExportReturnItem, ExportReturnTally
from single_window.scope import Scope, register_scope_rule


def return_rule(scope: Scope) -> Q:
    return (
        Q(customs_code__in=scope.districts)
        | Q(scope.enterprise_named("ebc_code"))
        | Q(scope.enterprise_named("agent_code"))
        | Q(export_list__in=export_lists_in(scope))
    )


def tally_rule(scope: Scope) -> Q:
    return (
        Q(customs_code__in=scope.districts)
        | Q(scope.enterprise_named("operator_code"))
        | Q(export_return__in=ExportReturn.objects.filter(return_rule(scope)))
    )


def register_scope() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    register_scope_rule(ExportReturn, return_rule)
    register_scope_rule(
        ExportReturnItem, lambda scope: Q(export_return__in=ExportReturn.objects.filter(return_rule(scope)))
    )
    register_scope_rule(ExportReturnTally, tally_rule)
