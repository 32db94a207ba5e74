"""Which of finance's rows a regulator sees (``single_window.scope``).

- a bill goes with its list's customs district, and with the parks of its guarantor, agent or
  e-commerce enterprise; its items and status changes go with it;
- a guarantee account goes with its guarantor's park; its ledger goes with it;
- a reservation or shortfall goes with the list's district and park, and with the account;
- a settlement report (and its mismatches) goes with the payment company that uploaded it;
- a financing application goes with its applicant's park; the reads of its record go with it;
- an export list's proceeds go with the park of its seller (e-commerce enterprise) or its
  declaring agent;
- the cover ratios by customs class and the exchange rates are the same for every regulator
  (nationwide).
"""

from __future__ import annotations

from django.db.models import Q

from finance.models import (
    ExchangeRate,
    ExportProceeds,
    FinancingApplication,
    FinancingRecordRead,
    GuaranteeAccount,
    GuaranteeCoverage,
    GuaranteeMovement,
    GuaranteeReservation,
    GuaranteeShortfall,
    SettlementMismatch,
    SettlementReport,
    TaxBill,
    TaxBillItem,
    TaxBillStatusChange,
)
from single_window.scope import Scope, register_nationwide, register_scope_rule


def _named(scope: Scope, field: str) -> Q:
    """The row names (by customs code or USCC) an enterprise of the scope's parks."""
    enterprises = scope.enterprises()
    return Q(**{f"{field}__in": enterprises.values("customs_code")}) | Q(**{f"{field}__in": enterprises.values("uscc")})


def of_bill(scope: Scope, path: str = "") -> Q:
    return (
        Q(**{f"{path}customs_code__in": scope.districts})
        | _named(scope, f"{path}assure_code")
        | _named(scope, f"{path}agent_code")
        | _named(scope, f"{path}ebc_code")
    )


def of_account(scope: Scope, path: str = "") -> Q:
    return _named(scope, f"{path}code")


def of_a_list(scope: Scope) -> Q:
    parks = scope.parks().values("code")
    return (
        Q(customs_code__in=scope.districts)
        | (~Q(park_code="") & Q(park_code__in=parks))
        | of_account(scope, "account__")
    )


def of_applicant(scope: Scope, path: str = "") -> Q:
    return Q(**{f"{path}applicant__in": scope.enterprises()})


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_scope_rule(TaxBill, of_bill)
    register_scope_rule(TaxBillItem, lambda scope: of_bill(scope, "bill__"))
    register_scope_rule(TaxBillStatusChange, lambda scope: of_bill(scope, "bill__"))
    register_scope_rule(GuaranteeAccount, of_account)
    register_scope_rule(GuaranteeMovement, lambda scope: of_account(scope, "account__"))
    register_scope_rule(GuaranteeReservation, of_a_list)
    register_scope_rule(GuaranteeShortfall, of_a_list)
    register_scope_rule(SettlementReport, lambda scope: Q(uploader__in=scope.enterprises()))
    register_scope_rule(SettlementMismatch, lambda scope: Q(report__uploader__in=scope.enterprises()))
    register_scope_rule(FinancingApplication, of_applicant)
    register_scope_rule(FinancingRecordRead, lambda scope: of_applicant(scope, "application__"))
    register_scope_rule(ExportProceeds, lambda scope: _named(scope, "ebc_code") | _named(scope, "agent_code"))
    register_nationwide(GuaranteeCoverage, ExchangeRate)
