from __future__ import annotations

from django.urls import path

from logistics import apis

app_name = "logistics"

urlpatterns = [
    path("logistics/tracking-events", apis.TrackingEventsApi.as_view(), name="tracking-events"),
    path(
        "logistics/waybills/<str:logistics_code>/<str:logistics_no>/timeline",
        apis.WaybillTimelineApi.as_view(),
        name="waybill-timeline",
    ),
]
