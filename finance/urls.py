from __future__ import annotations

from django.urls import path

from finance import apis, apis_settlements

app_name = "finance"

urlpatterns = [
    path("finance/guarantees/me", apis.GuaranteeMeApi.as_view(), name="guarantee-me"),
    path("finance/statements", apis.StatementApi.as_view(), name="statements"),
    path("finance/settlements", apis_settlements.SettlementCollectionApi.as_view(), name="settlement-list"),
    path(
        "finance/settlements/<int:report_id>",
        apis_settlements.SettlementDetailApi.as_view(),
        name="settlement-detail",
    ),
]
