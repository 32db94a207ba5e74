from __future__ import annotations

from django.urls import path

from logistics import apis, apis_stock

app_name = "logistics"

urlpatterns = [
    path("logistics/tracking-events", apis.TrackingEventsApi.as_view(), name="tracking-events"),
    path(
        "logistics/waybills/<str:logistics_code>/<str:logistics_no>/timeline",
        apis.WaybillTimelineApi.as_view(),
        name="waybill-timeline",
    ),
    path("logistics/stock", apis_stock.StockApi.as_view(), name="stock"),
    path("logistics/stock-receipts", apis_stock.StockReceiptCreateApi.as_view(), name="stock-receipts"),
]
