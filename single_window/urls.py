from __future__ import annotations

from django.urls import path

from single_window import apis, apis_events, apis_inbound

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
    path("signing-keys", apis.SigningKeyListApi.as_view(), name="signing-key-list"),
    path("signing-keys/<int:signing_key_id>", apis.SigningKeyDetailApi.as_view(), name="signing-key-detail"),
    path("events", apis_events.EventFeedApi.as_view(), name="event-feed"),
    path("webhooks/endpoints", apis_events.WebhookEndpointListApi.as_view(), name="webhook-endpoint-list"),
    path(
        "webhooks/endpoints/<int:endpoint_id>",
        apis_events.WebhookEndpointDetailApi.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        "webhooks/endpoints/<int:endpoint_id>/rotate-secret",
        apis_events.WebhookEndpointRotateSecretApi.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path("webhooks/deliveries", apis_events.WebhookDeliveryListApi.as_view(), name="webhook-delivery-list"),
    path("webhooks/customs", apis_inbound.CustomsWebhookApi.as_view(), name="webhook-customs"),
    path("webhooks/payments", apis_inbound.PaymentsWebhookApi.as_view(), name="webhook-payments"),
    path("webhooks/carriers", apis_inbound.CarriersWebhookApi.as_view(), name="webhook-carriers"),
    path(
        "webhooks/deliveries/<int:delivery_id>/redeliver",
        apis_events.WebhookDeliveryRedeliverApi.as_view(),
        name="webhook-delivery-redeliver",
    ),
]
