from __future__ import annotations

from django.urls import path

from finance import apis_settlements

app_name = "finance"

urlpatterns = [
    path("settlements", apis_settlements.SettlementCollectionApi.as_view(), name="settlement-list"),
    path(
        "settlements/<int:report_id>",
        apis_settlements.SettlementDetailApi.as_view(),
        name="settlement-detail",
    ),
]
