from __future__ import annotations

from django.urls import path

from logistics import apis_stock

app_name = "logistics"

urlpatterns = [
    path("logistics/stock", apis_stock.StockApi.as_view(), name="stock"),
    path("logistics/stock-receipts", apis_stock.StockReceiptCreateApi.as_view(), name="stock-receipts"),
]
