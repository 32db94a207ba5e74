"""Partners call in: customs receipts and tax bills, payment companies' verifications."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import problem
from core.problems import PROBLEM_CONTENT_TYPE
from single_window import inbox
from single_window.models import PartnerKind


class RawBodyParser(BaseParser):
    """The signature covers the exact bytes, so the view reads ``request.body`` itself."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return stream.read() if stream is not None else b""


class AcknowledgementSerializer(serializers.Serializer[Any]):
    message_id = serializers.CharField(help_text="The webhook-id that was received.")
    duplicate = serializers.BooleanField(help_text="True when this id was received before; it is applied once.")
    state = serializers.CharField()

    class Meta:
        ref_name = "WebhookAcknowledgement"


SIGNATURE_HEADERS = [
    OpenApiParameter("webhook-id", str, OpenApiParameter.HEADER, required=True, description="Unique per message."),
    OpenApiParameter("webhook-timestamp", int, OpenApiParameter.HEADER, required=True, description="Unix seconds."),
    OpenApiParameter(
        "webhook-signature",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description='"v1,<base64 HMAC-SHA256 of id.timestamp.body>", space-separated when several.',
    ),
]


class PartnerWebhookApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (RawBodyParser,)
    partner_kind: str

    def post(self, request: Request) -> Response:
        received = inbox.inbox_receive(
            partner_kind=self.partner_kind,
            headers=request.headers,
            body=request.body,
            content_type=request.content_type,
        )
        body = {
            "message_id": received.message.message_id,
            "duplicate": received.duplicate,
            "state": received.message.state,
        }
        return Response(body, status=status.HTTP_200_OK if received.duplicate else status.HTTP_202_ACCEPTED)


def _schema(summary: str, description: str, request_type: str, example: str | dict[str, Any]) -> Any:
    return extend_schema(
        tags=["partner webhooks"],
        summary=summary,
        description=description
        + " Signed with Standard Webhooks headers by the partner's secret; a wrong or stale (over 5 minutes) "
        "signature is 401. The body is stored first and applied by a worker; a repeated webhook-id is "
        "acknowledged again (200) and applied once. A message of a type this kind of partner may not send "
        "(a customs receipt from a payment company) is stored refused, never applied, and answered 403.",
        auth=[],
        parameters=SIGNATURE_HEADERS,
        request={request_type: OpenApiTypes.STR},
        responses={
            202: OpenApiResponse(AcknowledgementSerializer, description="Stored; it will be applied."),
            200: OpenApiResponse(AcknowledgementSerializer, description="Seen before; applied once."),
            (401, PROBLEM_CONTENT_TYPE): problem(401),
            (403, PROBLEM_CONTENT_TYPE): problem(403, "This kind of partner may not send this message type."),
        },
        examples=[
            OpenApiExample("Body", value=example, request_only=True, media_type=request_type),
            OpenApiExample(
                "Stored",
                value={"message_id": "msg_2f6c1b", "duplicate": False, "state": "received"},
                response_only=True,
                status_codes=["202"],
            ),
        ],
    )


CUSTOMS_EXAMPLE = (
    '<ceb:CEB622Message guid="..." version="1.0" xmlns:ceb="http://www.chinaport.gov.cn/ceb">'
    "<ceb:InventoryReturn>...<ceb:returnStatus>800</ceb:returnStatus>...</ceb:InventoryReturn></ceb:CEB622Message>"
)


@_schema(
    "Customs receipts (CEB622, CEB312/412/512) and tax bills (CEB816)",
    "Customs calls back here with its receipts and tax bills as customs XML.",
    "application/xml",
    CUSTOMS_EXAMPLE,
)
class CustomsWebhookApi(PartnerWebhookApi):
    partner_kind = PartnerKind.CUSTOMS


PAYMENTS_EXAMPLE = {
    "request_id": "payment-7-v1",
    "pay_transaction_id": "PAY20261125000001",
    "verified": True,
    "reason": "verified_pair",
}


@_schema(
    "Payment companies' identity verifications",
    "A payment company calls back here with the result of an identity verification the single window asked for "
    "(is the payer allowed to pay for the buyer; matching rule 3), as JSON "
    "`{request_id, pay_transaction_id, verified, reason}`.",
    "application/json",
    PAYMENTS_EXAMPLE,
)
class PaymentsWebhookApi(PartnerWebhookApi):
    partner_kind = PartnerKind.PAYMENT


CARRIERS_EXAMPLE = {
    "events": [
        {
            "logistics_code": "3301960004",
            "logistics_no": "SF1234567890",
            "status": "departed",
            "place": "Hangzhou Xiaoshan airport",
            "occurred_at": "2026-11-25T10:02:11+08:00",
            "transport_mode": "air",
            "leg": 1,
        }
    ]
}


@_schema(
    "Carriers' tracking events",
    "A carrier that is a partner of the single window posts its tracking events here as JSON, the body of "
    "`POST /api/v1/logistics/tracking-events` (one event or `{events: [...]}`), for its own waybills only: "
    "the logistics code of the enterprise the partner is registered for.",
    "application/json",
    CARRIERS_EXAMPLE,
)
class CarriersWebhookApi(PartnerWebhookApi):
    partner_kind = PartnerKind.CARRIER
