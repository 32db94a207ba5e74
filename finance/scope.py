"""Which of finance's rows a regulator sees: a settlement report (and its mismatches) with the
payment company that uploaded it, through the company's park as the hub's rule says. The
exchange rates are nationwide: one table for the country."""

from __future__ import annotations

from django.db.models import Q

from finance.models import ExchangeRate, SettlementMismatch, SettlementReport
from single_window.scope import register_nationwide, register_scope_rule


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_scope_rule(SettlementReport, lambda scope: Q(uploader__in=scope.enterprises()))
    register_scope_rule(SettlementMismatch, lambda scope: Q(report__uploader__in=scope.enterprises()))
    register_nationwide(ExchangeRate)
