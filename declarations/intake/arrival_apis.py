"""Arrival manifests (入库明细单, CEB711) over REST: a supervised site operator files one and
reads it back with customs' answer (CEB712)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError
from core.idempotency import idempotent
from core.openapi import problems
from core.parsers import JSONParser
from declarations import selectors
from declarations.intake import arrivals
from declarations.intake.outputs import ChinaTime
from declarations.models import ArrivalManifest
from single_window.permissions import caller_enterprise

MAX_ARRIVAL_LINES = 1000

ARRIVAL_REQUEST_EXAMPLE: dict[str, Any] = {
    "cop_no": "RKD20261125000001",
    "customs_code": "2901",
    "operator_code": "3301960006",
    "ie_flag": "I",
    "traf_mode": "5",
    "traf_no": "CA1234",
    "voyage_no": "20261125",
    "bill_no": "784-12345675",
    "logistics_code": "3301960004",
    "logistics_name": "示例物流有限公司",
    "unload_location": "A区3号库位",
    "note": "",
    "lines": [{"gnum": 1, "logistics_no": "YT2026112500000001"}],
}
ARRIVAL_RESPONSE_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "guid": "0F0E4C2B-5D61-4C1B-9F0A-6E2B7A1C3D4E",
    **{key: value for key, value in ARRIVAL_REQUEST_EXAMPLE.items() if key != "lines"},
    "operator_name": "示例监管场所经营有限公司",
    "lines": [{"gnum": 1, "logistics_no": "YT2026112500000001", "waybill_id": 31, "note": ""}],
    "status": "recorded",
    "send_note": "",
    "pre_no": "",
    "rkd_no": "",
    "return_status": "",
    "return_info": "",
    "created_at": "2026-11-25T10:00:00+08:00",
    "sent_at": None,
    "answered_at": None,
}
ARRIVAL_DESCRIPTION = """A supervised site operator (an enterprise with role `area`) tells customs which parcels
of a conveyance it unloaded at its site (入库明细单, CEB711, message specification section 3.15).

`operator_code` must be the caller's own code (`arrival_operator_not_caller`), and each line's
`logistics_no` a waybill the single window holds for `logistics_code` (`arrival_unknown_waybill`
on `lines[i].logistics_no`); every problem comes in one answer and nothing is stored. The
business key is the operator and `cop_no` (`duplicate_document`, 409).

The manifest is sent as a CEB711 signed for the operator (its signing key, `POST
/api/v1/signing-keys`); one that can't leave signed is refused (`arrival_not_sendable`, 409) and
not stored. Customs answers with a CEB712: 120 (or 399) `answered` with its `rkd_no`, 100 or a
negative code `refused`; the operator hears of it through the event `arrival.answered`."""


class ArrivalLineSerializer(serializers.Serializer[Any]):
    gnum = serializers.IntegerField(min_value=1, max_value=9999, help_text="From 1, one per parcel.")
    logistics_no = serializers.CharField(max_length=60, help_text="The parcel's waybill number.")
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "ArrivalLineInput"


class ArrivalLineOutput(serializers.Serializer[Any]):
    gnum = serializers.IntegerField()
    logistics_no = serializers.CharField()
    waybill_id = serializers.IntegerField()
    note = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "ArrivalLine"


class ArrivalOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    guid = serializers.CharField(help_text="The DeliveryHead guid of the CEB711.")
    cop_no = serializers.CharField()
    customs_code = serializers.CharField()
    operator_code = serializers.CharField()
    operator_name = serializers.CharField()
    ie_flag = serializers.CharField()
    traf_mode = serializers.CharField()
    traf_no = serializers.CharField()
    voyage_no = serializers.CharField()
    bill_no = serializers.CharField()
    logistics_code = serializers.CharField()
    logistics_name = serializers.CharField()
    unload_location = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)
    lines = ArrivalLineOutput(many=True, source="lines.all")
    status = serializers.ChoiceField(choices=ArrivalManifest.Status.choices)
    send_note = serializers.CharField(allow_blank=True, help_text="Why it did not reach customs, if so.")
    pre_no = serializers.CharField(allow_blank=True)
    rkd_no = serializers.CharField(allow_blank=True, help_text="Customs' number for it (CEB712 rkdNo).")
    return_status = serializers.CharField(allow_blank=True, help_text="Customs' last CEB712 returnStatus.")
    return_info = serializers.CharField(allow_blank=True)
    created_at = ChinaTime()
    sent_at = ChinaTime(allow_null=True)
    answered_at = ChinaTime(allow_null=True)

    class Meta:
        ref_name = "ArrivalManifest"


class ArrivalSubmitApi(APIView):
    parser_classes = (JSONParser,)

    class InputSerializer(serializers.Serializer[Any]):
        cop_no = serializers.CharField(max_length=20)
        customs_code = serializers.RegexField(r"^[0-9]{4}$", help_text="The customs district, 4 digits.")
        operator_code = serializers.CharField(max_length=18, help_text="Your own customs code or USCC.")
        ie_flag = serializers.ChoiceField(choices=[("I", "import")])
        traf_mode = serializers.CharField(min_length=1, max_length=1)
        traf_no = serializers.CharField(max_length=100)
        voyage_no = serializers.CharField(max_length=32)
        bill_no = serializers.CharField(max_length=37)
        logistics_code = serializers.CharField(max_length=18)
        logistics_name = serializers.CharField(max_length=100)
        unload_location = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
        lines = ArrivalLineSerializer(many=True, allow_empty=False)

        class Meta:
            ref_name = "ArrivalManifestInput"

        def validate_lines(self, value: list[Any]) -> list[Any]:
            if len(value) > MAX_ARRIVAL_LINES:
                raise serializers.ValidationError(f"At most {MAX_ARRIVAL_LINES} lines.", code="max_length")
            return value

    @extend_schema(
        operation_id="arrivals_file",
        tags=["arrivals"],
        summary="File an arrival manifest (入库明细单, CEB711) of parcels unloaded at your site",
        description=ARRIVAL_DESCRIPTION,
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={
            201: OpenApiResponse(ArrivalOutput, description="Stored and handed to the gateway."),
            **problems(400, 409, 415, 422),
        },
        examples=[
            OpenApiExample("One parcel", value=ARRIVAL_REQUEST_EXAMPLE, request_only=True),
            OpenApiExample("Stored", value=ARRIVAL_RESPONSE_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def post(self, request: Request) -> HttpResponse:
        operator = caller_enterprise(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        lines = [arrivals.ArrivalLine(**line) for line in values.pop("lines")]
        manifest = arrivals.arrival_manifest_submit(
            operator=operator,
            data=arrivals.ArrivalInput(**values, lines=lines),
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(ArrivalOutput(manifest).data, status=status.HTTP_201_CREATED)


class ArrivalDetailApi(APIView):
    @extend_schema(
        operation_id="arrivals_read",
        tags=["arrivals"],
        summary="An arrival manifest of yours and customs' answer (CEB712)",
        description="Only the operator that filed it reads it; anyone else is answered 404.",
        responses={200: ArrivalOutput, **problems(404)},
        examples=[OpenApiExample("Answered", value=ARRIVAL_RESPONSE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, arrival_id: int) -> Response:
        manifest = selectors.arrival_for_operator(enterprise=caller_enterprise(request), arrival_id=arrival_id)
        if manifest is None:
            raise NotFoundError
        return Response(ArrivalOutput(manifest).data)
