"""Views that belong to no system."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import health

_CHECK = inline_serializer(
    "HealthCheck",
    {
        "status": serializers.ChoiceField(choices=["ok", "down"]),
        "latency_ms": serializers.FloatField(),
        "error": serializers.CharField(required=False),
    },
)
HEALTH_SCHEMA = OpenApiResponse(
    inline_serializer(
        "Health",
        {
            "status": serializers.ChoiceField(choices=["ok", "degraded"]),
            "checks": inline_serializer("HealthChecks", {"database": _CHECK, "broker": _CHECK}),
        },
    )
)


@extend_schema(exclude=True)
class ApiNotFound(APIView):
    """Answers every unknown path under ``/api/`` with problem+json, whatever the method."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise NotFound


class HealthApi(APIView):
    """Database and broker, reported separately; 503 when either is down."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(
        operation_id="health",
        tags=["health"],
        summary="Readiness of the database and the broker",
        auth=[],
        responses={
            200: HEALTH_SCHEMA,
            503: HEALTH_SCHEMA,
        },
        examples=[
            OpenApiExample(
                "All up",
                value={
                    "status": "ok",
                    "checks": {
                        "database": {"status": "ok", "latency_ms": 0.8},
                        "broker": {"status": "ok", "latency_ms": 1.2},
                    },
                },
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Broker down",
                value={
                    "status": "degraded",
                    "checks": {
                        "database": {"status": "ok", "latency_ms": 0.8},
                        "broker": {"status": "down", "latency_ms": 2.1, "error": "OperationalError"},
                    },
                },
                response_only=True,
                status_codes=["503"],
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        checks = {"database": health.check_database(), "broker": health.check_broker()}
        ok = all(result.ok for result in checks.values())
        body = {"status": "ok" if ok else "degraded", "checks": {k: v.as_dict() for k, v in checks.items()}}
        return Response(body, status=200 if ok else 503, headers={"Cache-Control": "no-store"})
