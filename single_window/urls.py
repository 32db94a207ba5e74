from __future__ import annotations

from django.urls import path

from single_window import apis

app_name = "single_window"

urlpatterns = [
    path("enterprises/me", apis.EnterpriseMeApi.as_view(), name="enterprise-me"),
    path("enterprises/<str:code>", apis.EnterpriseDetailApi.as_view(), name="enterprise-detail"),
    path("keys", apis.ApiKeyListApi.as_view(), name="key-list"),
    path("keys/<int:key_id>", apis.ApiKeyDetailApi.as_view(), name="key-detail"),
    path("appointments", apis.AppointmentListApi.as_view(), name="appointment-list"),
    path("appointments/<int:appointment_id>", apis.AppointmentDetailApi.as_view(), name="appointment-detail"),
    path("certificates", apis.CertificateListApi.as_view(), name="certificate-list"),
    path("certificates/<int:certificate_id>", apis.CertificateDetailApi.as_view(), name="certificate-detail"),
]
