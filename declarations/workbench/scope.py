"""Which rows of the workbench a regulator sees (the hub's scope register, as
``declarations.admin.scope``): the queues are lists, seen as every list page sees them; notes,
assignments and holds go with their list; an action on lists is seen through a list in scope
or by who took it; an export by who made it, and by the regulators of the same districts and
parks.
"""

from __future__ import annotations

from django.db.models import Q

from declarations.admin.scope import inventory_rule, lists_in
from declarations.models import (
    ListAssignment,
    ListExport,
    ListHold,
    ListMatchFailure,
    ListNote,
    ListSendFailure,
    ListTaxBillDifference,
    ListWaitingForDocuments,
    WorkbenchAction,
)
from single_window.models import RegulatorScope
from single_window.scope import Scope, register_scope_rule

QUEUES = (ListWaitingForDocuments, ListMatchFailure, ListSendFailure, ListTaxBillDifference)


def _actions(scope: Scope) -> Q:
    on_lists = WorkbenchAction.lists.through.objects.filter(inventory__in=lists_in(scope))
    return Q(pk__in=on_lists.values("workbenchaction_id")) | Q(user_id=scope.user_id, user__isnull=False)


def _exports(scope: Scope) -> Q:
    colleagues = RegulatorScope.objects.filter(
        Q(customs_district__in=scope.districts) | Q(park__in=scope.parks())
    ).values("user_id")
    return Q(user_id__in=colleagues) | Q(user_id=scope.user_id, user__isnull=False)


def register() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    for queue in QUEUES:
        register_scope_rule(queue, inventory_rule)
    for model in (ListNote, ListAssignment, ListHold):
        register_scope_rule(model, lambda scope: Q(inventory__in=lists_in(scope)))
    register_scope_rule(WorkbenchAction, _actions)
    register_scope_rule(ListExport, _exports)
