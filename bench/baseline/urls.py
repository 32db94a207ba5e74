from __future__ import annotations

from django.urls import path

from bench.baseline.apis import OrderCreateApi

urlpatterns = [path("orders", OrderCreateApi.as_view())]
