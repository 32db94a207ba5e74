from __future__ import annotations

from django.urls import path

from finance import apis, apis_financing, apis_proceeds, apis_settlements

app_name = "finance"

urlpatterns = [
    path("finance/guarantees/me", apis.GuaranteeMeApi.as_view(), name="guarantee-me"),
    path("finance/statements", apis.StatementApi.as_view(), name="statements"),
    path("finance/export-proceeds", apis_proceeds.ExportProceedsApi.as_view(), name="export-proceeds"),
    path("finance/settlements", apis_settlements.SettlementCollectionApi.as_view(), name="settlement-list"),
    path(
        "finance/settlements/<int:report_id>",
        apis_settlements.SettlementDetailApi.as_view(),
        name="settlement-detail",
    ),
    path("finance/applications", apis_financing.ApplicationListApi.as_view(), name="application-list"),
    path(
        "finance/applications/<int:application_id>",
        apis_financing.ApplicationDetailApi.as_view(),
        name="application-detail",
    ),
    path(
        "finance/applications/<int:application_id>/decision",
        apis_financing.ApplicationDecisionApi.as_view(),
        name="application-decision",
    ),
    path(
        "finance/applications/<int:application_id>/withdraw",
        apis_financing.ApplicationWithdrawApi.as_view(),
        name="application-withdraw",
    ),
]
