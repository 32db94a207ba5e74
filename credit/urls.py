from __future__ import annotations

from django.urls import path

from credit import apis

app_name = "credit"

urlpatterns = [
    path("credit/enterprises/<str:code>", apis.CreditReportApi.as_view(), name="report"),
    path("credit/consents", apis.ConsentListApi.as_view(), name="consent-list"),
    path("credit/consents/<int:consent_id>", apis.ConsentDetailApi.as_view(), name="consent-detail"),
    path("credit/access-log", apis.AccessLogApi.as_view(), name="access-log"),
]
