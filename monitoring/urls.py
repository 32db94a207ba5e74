from __future__ import annotations

from django.urls import path

from monitoring import apis

app_name = "monitoring"

urlpatterns = [
    path("monitoring/summary", apis.SummaryApi.as_view(), name="summary"),
    path("monitoring/series", apis.SeriesApi.as_view(), name="series"),
]
