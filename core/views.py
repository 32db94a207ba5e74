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
        "error": serializers.CharField(required=False, help_text="Why the check is down."),
    },
)
HEALTH_SCHEMA = OpenApiResponse(
    inline_serializer(
        "Health",
        {
            "status": serializers.ChoiceField(
                choices=["ok", "degraded", "down"],
                help_text="degraded: the database answers, something else does not; down: the database does not.",
            ),
            "checks": serializers.DictField(
                child=_CHECK,
                help_text="By name: database, broker, cache, worker (heartbeats), outbox (due messages sent).",
            ),
        },
    )
)
_ALL_OK = {
    "database": {"status": "ok", "latency_ms": 0.8},
    "broker": {"status": "ok", "latency_ms": 1.2},
    "cache": {"status": "ok", "latency_ms": 0.6},
    "worker": {"status": "ok", "latency_ms": 0.7},
    "outbox": {"status": "ok", "latency_ms": 0.9},
}


@extend_schema(exclude=True)
class ApiNotFound(APIView):
    """Answers every unknown path under ``/api/`` with problem+json, whatever the method."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise NotFound


class HealthApi(APIView):
    """Each dependency on its own (contract: ``core.health``). 200 ``ok``; 200 ``degraded`` when
    the database answers and something else does not (the API still takes documents, keep it
    in rotation); 503 ``down`` without the database."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(
        operation_id="health",
        tags=["health"],
        summary="Readiness of the database, broker, cache, workers and outbox",
        description=(
            "200 `ok`: all is well. 200 `degraded`: the database answers, so documents and receipts "
            "are still taken, but a check is down and says why in `error` (the broker or the cache "
            "is away, no worker heartbeat for a minute, outbox messages due and unsent). "
            "503 `down`: the database does not answer."
        ),
        auth=[],
        responses={
            200: HEALTH_SCHEMA,
            503: HEALTH_SCHEMA,
        },
        examples=[
            OpenApiExample(
                "All up",
                value={"status": "ok", "checks": _ALL_OK},
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Redis down",
                value={
                    "status": "degraded",
                    "checks": _ALL_OK
                    | {
                        "broker": {"status": "down", "latency_ms": 2.1, "error": "OperationalError"},
                        "cache": {"status": "down", "latency_ms": 1.5, "error": "ConnectionError"},
                    },
                },
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Database down",
                value={
                    "status": "down",
                    "checks": _ALL_OK
                    | {
                        "database": {"status": "down", "latency_ms": 3.0, "error": "OperationalError"},
                        "worker": {"status": "down", "latency_ms": 0.1, "error": "OperationalError"},
                        "outbox": {"status": "down", "latency_ms": 0.1, "error": "OperationalError"},
                    },
                },
                response_only=True,
                status_codes=["503"],
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        status, body = health.health_report()
        return Response(body, status=status, headers={"Cache-Control": "no-store"})
