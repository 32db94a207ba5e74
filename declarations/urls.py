from __future__ import annotations

from django.urls import URLPattern, path

from declarations.intake.apis import PLURAL, VIEWS, InventoryCancelApi, OrderTraceApi

app_name = "declarations"

urlpatterns: list[URLPattern] = [
    path("inventories/<int:inventory_id>/cancel", InventoryCancelApi.as_view(), name="inventory-cancel"),
    path("orders/<str:first>/<str:second>/trace", OrderTraceApi.as_view(), name="order-trace"),
]
for kind, views in VIEWS.items():
    plural = PLURAL[kind]
    urlpatterns += [
        path(plural, views["collection"].as_view(), name=f"{kind}-submit"),
        path(f"{plural}/<int:document_id>", views["detail"].as_view(), name=f"{kind}-detail"),
        path(f"{plural}/<str:first>/<str:second>", views["by_key"].as_view(), name=f"{kind}-by-key"),
    ]
