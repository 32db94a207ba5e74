"""What the single window tells an enterprise: the event feed, webhook endpoints, deliveries."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import problems
from single_window import outbox, selectors, webhooks
from single_window.event_types import event_type_choices, event_type_names
from single_window.events import envelope
from single_window.models import OutboxMessage, OutboxState, WebhookEndpoint
from single_window.permissions import caller_enterprise

FEED_LIMIT_DEFAULT = 100
FEED_LIMIT_MAX = 1000
DELIVERIES_LIMIT_DEFAULT = 100
DELIVERIES_LIMIT_MAX = 500

EVENT_EXAMPLE = {
    "id": 5120,
    "sequence": 42,
    "type": "inventory.status_changed",
    "subject": "inventory:81",
    "timestamp": "2026-11-25T10:02:11.120000+08:00",
    "data": {
        "inventory_id": 81,
        "cop_no": "C2026112500001",
        "order_no": "ORDER20261125001",
        "from_status": "declared",
        "to_status": "accepted",
    },
}


class EventTypeField(serializers.ChoiceField):
    """One of the event types registered when the request is served.

    The apps register their types in ``AppConfig.ready``; a ``ChoiceField`` would freeze the
    choices when this module loads. Reading the register at each use keeps validation and the
    schema's enum (``EventTypeEnum``) on what is registered.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=(), **kwargs)

    def _get_choices(self) -> dict[str, Any]:
        return dict(event_type_choices())

    def _set_choices(self, choices: Any) -> None:
        pass  # the register is the one source of choices

    choices = property(_get_choices, _set_choices)

    @property
    def grouped_choices(self) -> dict[str, Any]:  # type: ignore[override]
        return self._get_choices()

    @property
    def choice_strings_to_values(self) -> dict[str, str]:  # type: ignore[override]
        return {name: name for name in event_type_names()}


# --- The feed ----------------------------------------------------------------------------


class EventOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField(help_text="Counts from 1 per enterprise, with no gaps.")
    type = EventTypeField()
    subject = serializers.CharField(help_text="What the event is about, e.g. inventory:81; may be empty.")
    timestamp = serializers.DateTimeField()

    class Meta:
        ref_name = "Event"


# "data" would shadow Serializer.data as a class attribute; the schema still needs it.
EventOutput._declared_fields["data"] = serializers.DictField(
    help_text="Ids, keys, statuses, codes and amounts; no personal data."
)


class EventFeedOutput(serializers.Serializer[Any]):
    events = EventOutput(many=True)
    next_after = serializers.IntegerField(help_text="Pass as after= to read on; the same value when nothing is new.")


class EventFeedApi(APIView):
    class FilterSerializer(serializers.Serializer[Any]):
        after = serializers.IntegerField(min_value=0, default=0)
        limit = serializers.IntegerField(min_value=1, max_value=FEED_LIMIT_MAX, default=FEED_LIMIT_DEFAULT)

        class Meta:
            ref_name = "EventFeedFilter"

    @extend_schema(
        operation_id="events_list",
        tags=["events"],
        summary="The caller's events after a sequence number",
        description=(
            "The events of the calling enterprise in sequence order: the same events its webhooks "
            "receive, for enterprises that cannot receive webhooks. The sequence never skips an "
            "event: read with after=0, then with the answer's next_after, for ever."
        ),
        parameters=[
            OpenApiParameter("after", int, description="Sequence already read (default 0: from the start)."),
            OpenApiParameter("limit", int, description=f"At most this many (default 100, max {FEED_LIMIT_MAX})."),
        ],
        responses={200: EventFeedOutput, **problems(400)},
        examples=[OpenApiExample("Feed", value={"events": [EVENT_EXAMPLE], "next_after": 42}, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        after = query.validated_data["after"]
        events = selectors.events_after(
            enterprise=caller_enterprise(request), after=after, limit=query.validated_data["limit"]
        )
        return Response(
            {
                "events": [envelope(event) for event in events],
                "next_after": events[-1].sequence if events else after,
            }
        )


# --- Endpoints ---------------------------------------------------------------------------

ENDPOINT_EXAMPLE = {
    "id": 9,
    "url": "https://erp.example.com/hooks/single-window",
    "event_types": ["document.accepted", "inventory.status_changed"],
    "active": True,
    "rotating_until": None,
    "created_at": "2026-11-25T10:02:11+08:00",
}
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - an example in the docs


class EndpointOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    url = serializers.URLField()
    event_types = serializers.ListField(child=EventTypeField())
    active = serializers.BooleanField()
    rotating_until = serializers.DateTimeField(
        source="previous_secret_expires_at",
        allow_null=True,
        help_text="While set and in the future, deliveries carry a second signature by the previous secret.",
    )
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "WebhookEndpoint"


class EndpointSecretOutput(EndpointOutput):
    secret = serializers.CharField(help_text="whsec_ and base64 of 32 bytes. Shown in this answer only.")

    class Meta:
        ref_name = "WebhookEndpointWithSecret"


class WebhookEndpointListApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        url = serializers.URLField(max_length=500, help_text="https:// in production; public addresses only.")
        event_types = serializers.ListField(child=EventTypeField(), min_length=1)

        class Meta:
            ref_name = "WebhookEndpointCreate"

        def validate_event_types(self, value: list[str]) -> list[str]:
            # No more entries than there are types; the count is the register's at this request.
            limit = len(event_type_names())
            if len(value) > limit:
                raise serializers.ValidationError(
                    serializers.ListField.default_error_messages["max_length"].format(max_length=limit),
                    code="max_length",
                )
            return value

    @extend_schema(
        operation_id="webhook_endpoints_list",
        tags=["webhooks"],
        summary="The enterprise's webhook endpoints",
        responses={200: EndpointOutput(many=True), **problems()},
        examples=[OpenApiExample("Endpoints", value=[ENDPOINT_EXAMPLE], response_only=True)],
    )
    def get(self, request: Request) -> Response:
        endpoints = selectors.webhook_endpoints_for(enterprise=caller_enterprise(request))
        return Response(EndpointOutput(endpoints, many=True).data)

    @extend_schema(
        operation_id="webhook_endpoints_create",
        tags=["webhooks"],
        summary="Register an endpoint",
        description=(
            "Events of the chosen types are POSTed to the URL as JSON, signed per Standard Webhooks "
            "(webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of "
            '"id.timestamp.body" with the decoded secret>). A 2xx answer acknowledges; anything else '
            "is retried for about two days (30 s, 1, 2, 5, 10, 30 min, 1, 2, 4, 8, 12, 24 h), then "
            "the delivery is dead and an outbox.dead_letter event is written to the feed. URLs that "
            "resolve to private, loopback, link-local or reserved addresses are refused (400 "
            "webhook_url_not_allowed). The secret is in this answer only."
        ),
        request=InputSerializer,
        responses={201: EndpointSecretOutput, **problems(400, 415)},
        examples=[
            OpenApiExample(
                "New endpoint",
                value={"url": ENDPOINT_EXAMPLE["url"], "event_types": ENDPOINT_EXAMPLE["event_types"]},
                request_only=True,
            ),
            OpenApiExample(
                "Created",
                value={**ENDPOINT_EXAMPLE, "secret": SECRET_EXAMPLE},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = webhooks.webhook_endpoint_create(
            enterprise=caller_enterprise(request),
            url=data.validated_data["url"],
            event_types=data.validated_data["event_types"],
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response({**EndpointOutput(endpoint).data, "secret": secret}, status=status.HTTP_201_CREATED)


def _endpoint(request: Request, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(selectors.webhook_endpoints_for(enterprise=caller_enterprise(request)), pk=endpoint_id)


class WebhookEndpointDetailApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_retrieve",
        tags=["webhooks"],
        summary="One of the enterprise's endpoints",
        responses={200: EndpointOutput, **problems(404)},
        examples=[OpenApiExample("Endpoint", value=ENDPOINT_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(EndpointOutput(_endpoint(request, endpoint_id)).data)

    @extend_schema(
        operation_id="webhook_endpoints_delete",
        tags=["webhooks"],
        summary="Delete an endpoint",
        description="Deliveries stop at once; those still waiting are discarded.",
        responses={204: None, **problems(404)},
    )
    def delete(self, request: Request, endpoint_id: int) -> Response:
        webhooks.webhook_endpoint_delete(
            endpoint=_endpoint(request, endpoint_id),
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        tags=["webhooks"],
        summary="Rotate an endpoint's secret",
        description=(
            "Returns the new secret, once. For 24 hours every delivery carries two signatures, by "
            "the new and the previous secret, so the receiver can switch without losing events."
        ),
        request=None,
        responses={200: EndpointSecretOutput, **problems(404)},
        examples=[
            OpenApiExample(
                "Rotated",
                value={**ENDPOINT_EXAMPLE, "rotating_until": "2026-11-26T10:02:11+08:00", "secret": SECRET_EXAMPLE},
                response_only=True,
            )
        ],
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        endpoint = _endpoint(request, endpoint_id)
        secret = webhooks.webhook_endpoint_rotate_secret(
            endpoint=endpoint,
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        endpoint.refresh_from_db()
        return Response({**EndpointOutput(endpoint).data, "secret": secret})


# --- Deliveries --------------------------------------------------------------------------

DELIVERY_EXAMPLE = {
    "id": 7031,
    "webhook_id": "msg_7031",
    "endpoint_id": 9,
    "event_id": 5120,
    "event_type": "inventory.status_changed",
    "state": "pending",
    "attempts": 1,
    "next_attempt_at": "2026-11-25T10:02:44+08:00",
    "last_error": "HTTP 503",
    "created_at": "2026-11-25T10:02:11+08:00",
    "sent_at": None,
    "attempt_log": [
        {
            "number": 1,
            "started_at": "2026-11-25T10:02:12+08:00",
            "status_code": 503,
            "error": "",
            "latency_ms": 184,
            "response_excerpt": "Service Unavailable",
        }
    ],
}


class AttemptOutput(serializers.Serializer[Any]):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(help_text="Why no answer came (timeout, connection refused); empty otherwise.")
    latency_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField(help_text="The answer's first 500 characters, secrets starred.")

    class Meta:
        ref_name = "WebhookDeliveryAttempt"


class DeliveryOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    webhook_id = serializers.SerializerMethodField(help_text="The webhook-id header: the same on every attempt.")
    endpoint_id = serializers.IntegerField(source="webhook_endpoint_id")
    event_id = serializers.IntegerField(allow_null=True)
    event_type = serializers.CharField(source="message_type")
    state = serializers.ChoiceField(choices=OutboxState.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    attempt_log = AttemptOutput(many=True)

    class Meta:
        ref_name = "WebhookDelivery"

    def get_webhook_id(self, message: OutboxMessage) -> str:
        return webhooks.msg_id_for(message)


class WebhookDeliveryListApi(APIView):
    class FilterSerializer(serializers.Serializer[Any]):
        endpoint = serializers.IntegerField(required=False)
        state = serializers.ChoiceField(choices=OutboxState.choices, required=False)
        before = serializers.IntegerField(required=False, help_text="Deliveries with a smaller id (paging).")
        limit = serializers.IntegerField(min_value=1, max_value=DELIVERIES_LIMIT_MAX, default=DELIVERIES_LIMIT_DEFAULT)

        class Meta:
            ref_name = "WebhookDeliveryFilter"

    @extend_schema(
        operation_id="webhook_deliveries_list",
        tags=["webhooks"],
        summary="The delivery log",
        description="Every delivery to the enterprise's endpoints, newest first, with each attempt.",
        parameters=[
            OpenApiParameter("endpoint", int, description="Only this endpoint's deliveries."),
            OpenApiParameter("state", str, enum=OutboxState.values, description="Only deliveries in this state."),
            OpenApiParameter("before", int, description="Deliveries with an id below this (the next page)."),
            OpenApiParameter("limit", int, description=f"At most this many (default 100, max {DELIVERIES_LIMIT_MAX})."),
        ],
        responses={200: DeliveryOutput(many=True), **problems(400)},
        examples=[OpenApiExample("Deliveries", value=[DELIVERY_EXAMPLE], response_only=True)],
    )
    def get(self, request: Request) -> Response:
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        deliveries = selectors.webhook_deliveries_for(
            enterprise=caller_enterprise(request),
            endpoint_id=query.validated_data.get("endpoint"),
            state=query.validated_data.get("state"),
        )
        if "before" in query.validated_data:
            deliveries = deliveries.filter(pk__lt=query.validated_data["before"])
        return Response(DeliveryOutput(deliveries[: query.validated_data["limit"]], many=True).data)


class WebhookDeliveryRedeliverApi(APIView):
    @extend_schema(
        operation_id="webhook_deliveries_redeliver",
        tags=["webhooks"],
        summary="Send a delivery again",
        description=(
            "A dead, discarded or delivered message is queued again with a fresh retry schedule "
            "and the same webhook-id. 409 outbox_not_redeliverable while it is still waiting."
        ),
        request=None,
        responses={202: DeliveryOutput, **problems(404, 409)},
        examples=[
            OpenApiExample(
                "Queued again",
                value={**DELIVERY_EXAMPLE, "state": "pending", "attempts": 0},
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        deliveries = selectors.webhook_deliveries_for(enterprise=caller_enterprise(request))
        message = get_object_or_404(deliveries, pk=delivery_id)
        outbox.outbox_redeliver(message=message, actor=request.user.actor)  # type: ignore[union-attr]
        message = deliveries.get(pk=delivery_id)
        return Response(DeliveryOutput(message).data, status=status.HTTP_202_ACCEPTED)
