from __future__ import annotations

from django.urls import path

from finance import apis

app_name = "finance"

urlpatterns = [
    path("finance/guarantees/me", apis.GuaranteeMeApi.as_view(), name="guarantee-me"),
    path("finance/statements", apis.StatementApi.as_view(), name="statements"),
]
