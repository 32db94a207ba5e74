"""Export returns over REST (``/api/v1/export/returns``): a return request (CEB213) as JSON or
as signed customs XML, read back with customs' answers (CEB214); the site operator's tally
(CEB215, ``/api/v1/export/returns/tallies``) answered by CEB216."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.audit import Actor
from core.errors import ApiError, FieldError, NotFoundError
from core.idempotency import idempotent
from core.openapi import problems
from core.pagination import CursorPagination
from core.parsers import JSONParser
from core.times import parse_ceb_time
from declarations.customs import xml
from declarations.export import returns, returns_selectors, returns_xml
from declarations.export import returns_codes as codes
from declarations.intake.amounts import amount_text
from declarations.intake.apis import XML_TYPES, CustomsXmlParser, TextXmlParser
from declarations.intake.outputs import ChinaTime
from declarations.intake.serializers import DecimalString
from declarations.models.export_returns import ExportReturn, ExportReturnTally
from single_window import services as hub
from single_window.models import Enterprise, InboundMessage
from single_window.permissions import caller_enterprise
from single_window.signatures import usable_certificates, verify_message_signature

XML_CONTENT_TYPE = "application/xml; charset=utf-8"
MAX_RETURN_LINES = 100
# CEB214 returnStatus of a return taken (declaring); refusals carry customs' code or -1.
DECLARING = "2"

RETURN_REQUEST_EXAMPLE: dict[str, Any] = {
    "invt_no": "29012026E000000081",
    "cop_no": "TH20261205000001",
    "app_type": "1",
    "app_time": "20261205093000",
    "customs_code": "2901",
    "logistics_code": "3301960004",
    "logistics_name": "示例物流有限公司",
    "logistics_no": "YT2026120500000001",
    "bill_no": "YT2026120500000001",
    "traf_mode": "5",
    "traf_name": "CA1234",
    "port_code": "2901",
    "reason": "买家拒收 The buyer refused the parcel",
    "country": "502",
    "voyage_no": "CA1234/20261205",
    "items": [
        {
            "gnum": 1,
            "gcode": "6109100010",
            "gname": "棉T恤",
            "gmodel": "100%棉 M码",
            "qty": "1",
            "unit": "007",
            "qty1": "0.2",
            "unit1": "035",
        }
    ],
}
RETURN_EXAMPLE: dict[str, Any] = {
    "id": 4,
    "export_list_id": 81,
    "version": 1,
    "guid": "6B1E3C1A-8E0F-4C55-9B44-2F1D0E7A9C10",
    "status": "released",
    "trade_mode": "9661",
    "ebc_code": "3301960002",
    "agent_code": "3301960001",
    **{k: v for k, v in RETURN_REQUEST_EXAMPLE.items() if k not in {"items", "app_type", "app_time"}},
    "app_time": "20261205093000",
    "items": [{**RETURN_REQUEST_EXAMPLE["items"][0], "qty2": None, "unit2": "", "note": ""}],
    "send_note": "",
    "return_status": "800",
    "return_info": "放行",
    "created_at": "2026-12-05T09:30:01+08:00",
    "answered_at": "2026-12-05T09:31:10+08:00",
    "tallies": [],
}
TALLY_REQUEST_EXAMPLE: dict[str, Any] = {
    "cop_no": "LH20261206000001",
    "app_time": "20261206080000",
    "customs_code": "2901",
    "logistics_code": "3301960004",
    "logistics_no": "YT2026120500000001",
    "location": "退货区 B-07",
}
TALLY_EXAMPLE: dict[str, Any] = {
    "id": 2,
    "export_return_id": 4,
    "guid": "9D0C1B2A-3E4F-4A5B-8C7D-6E5F4A3B2C1D",
    "status": "concluded",
    "cop_no": "LH20261206000001",
    "operator_code": "3301960006",
    "logistics_code": "3301960004",
    "logistics_no": "YT2026120500000001",
    "invt_no": "29012026E000000081",
    "location": "退货区 B-07",
    "return_status": "399",
    "return_info": "海关审结",
    "created_at": "2026-12-06T08:00:01+08:00",
    "answered_at": "2026-12-06T08:01:00+08:00",
}
DESCRIPTION = """Parcels of an export list coming back (出口退货, message specification 2.17-2.20). The
consignor of a list customs released (or its declaring agent) files a return request (退货申请单,
CEB213) naming the list by customs' number (`invt_no`): trade mode 9661 (or 1261 for a list of
1210; filled in when left out, `export_return_trade_mode_mismatch` otherwise), and per line the
list's line (`gnum`) with its goods code, name and units as declared
(`export_return_line_mismatch`) and quantities not above the list's less earlier returns
customs did not refuse (`export_return_qty_exceeds_list`; every line in one answer). A list not
released: `export_return_not_allowed_in_state` (409). A list the caller is not party to: 404.

The return's key is the caller's code and `cop_no`: `app_type` 1 twice is
`export_return_duplicate` (409); `app_type` 2 replaces one customs refused (or that could not be
sent) with a later `app_time` (`export_return_stale_app_time`, 409). It is sent as a CEB213
signed for the caller (or, as XML, the caller's own signed message forwarded); one that can't
leave is refused (`export_return_not_sendable`, 409) and nothing is stored. Customs answers
CEB214: 120 `entered`, 800 `released`, 100 or negative `refused` (event `export.return_answered`).

`Content-Type: application/xml` takes a signed `CEB213Message` (up to 100 `InvtRefund`) and
answers a `CEB214Message` with one `RefundReturn` per return (2 taken, or the refusal), or a
`CEB900Message` when the message fails the schema."""


class ReturnLineInput(serializers.Serializer[Any]):
    gnum = serializers.IntegerField(min_value=1, max_value=9999)
    gcode = serializers.CharField(max_length=10)
    gname = serializers.CharField(max_length=250)
    gmodel = serializers.CharField(max_length=250)
    qty = DecimalString()
    unit = serializers.CharField(min_length=3, max_length=3)
    qty1 = DecimalString()
    unit1 = serializers.CharField(min_length=3, max_length=3)
    qty2 = DecimalString(required=False, allow_null=True)
    unit2 = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "ExportReturnLineInput"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("qty", "qty1", "qty2"):
            if attrs.get(name) is not None and attrs[name] <= 0:
                raise serializers.ValidationError(
                    {name: _("Must be above 0.")}, code=codes.EXPORT_RETURN_QTY_NOT_POSITIVE
                )
        return attrs


class CebTime(serializers.CharField):
    """YYYYMMDDhhmmss, China Standard Time, read into an aware datetime."""

    def to_internal_value(self, data: Any) -> Any:
        text = super().to_internal_value(data)
        try:
            return parse_ceb_time(text)
        except ValueError:
            raise serializers.ValidationError(_("YYYYMMDDhhmmss, China Standard Time."), code="invalid") from None


class ReturnInput(serializers.Serializer[Any]):
    invt_no = serializers.CharField(max_length=20, help_text="Customs' number of the list (invtNo).")
    cop_no = serializers.CharField(max_length=30, help_text="Your own number for the return (coElNo).")
    app_type = serializers.ChoiceField(choices=[("1", "new"), ("2", "change")], default="1")
    app_time = CebTime(help_text="YYYYMMDDhhmmss, China Standard Time; orders versions.")
    trade_mode = serializers.ChoiceField(choices=[("9661", "9661"), ("1261", "1261")], required=False)
    customs_code = serializers.RegexField(r"^[0-9]{4}$")
    loct_no = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    logistics_code = serializers.CharField(max_length=18)
    logistics_name = serializers.CharField(max_length=100)
    logistics_no = serializers.CharField(max_length=80)
    bill_no = serializers.CharField(max_length=37)
    traf_mode = serializers.CharField(min_length=1, max_length=1)
    traf_name = serializers.CharField(max_length=100)
    port_code = serializers.RegexField(r"^[0-9]{4}$")
    reason = serializers.CharField(max_length=500)
    country = serializers.CharField(min_length=3, max_length=3)
    voyage_no = serializers.CharField(max_length=32)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    items = ReturnLineInput(many=True, allow_empty=False)

    class Meta:
        ref_name = "ExportReturnInput"

    def validate_items(self, value: list[Any]) -> list[Any]:
        if len(value) > MAX_RETURN_LINES:
            raise serializers.ValidationError(f"At most {MAX_RETURN_LINES} lines.", code="max_length")
        return value


class ReturnLineOutput(serializers.Serializer[Any]):
    gnum = serializers.IntegerField()
    gcode = serializers.CharField()
    gname = serializers.CharField()
    gmodel = serializers.CharField()
    qty = serializers.SerializerMethodField()
    unit = serializers.CharField()
    qty1 = serializers.SerializerMethodField()
    unit1 = serializers.CharField()
    qty2 = serializers.SerializerMethodField()
    unit2 = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "ExportReturnLine"

    def get_qty(self, item: Any) -> str:
        return amount_text(item.qty, None)

    def get_qty1(self, item: Any) -> str:
        return amount_text(item.qty1, None)

    def get_qty2(self, item: Any) -> str | None:
        return None if item.qty2 is None else amount_text(item.qty2, None)


class TallyOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    export_return_id = serializers.IntegerField()
    guid = serializers.CharField()
    status = serializers.ChoiceField(choices=ExportReturnTally.Status.choices)
    cop_no = serializers.CharField()
    operator_code = serializers.CharField()
    logistics_code = serializers.CharField()
    logistics_no = serializers.CharField()
    invt_no = serializers.CharField(allow_blank=True)
    location = serializers.CharField(allow_blank=True)
    return_status = serializers.CharField(allow_blank=True, help_text="Customs' last CEB216 returnStatus.")
    return_info = serializers.CharField(allow_blank=True)
    created_at = ChinaTime()
    answered_at = ChinaTime(allow_null=True)

    class Meta:
        ref_name = "ExportReturnTally"


class ReturnOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    export_list_id = serializers.IntegerField()
    version = serializers.IntegerField()
    guid = serializers.CharField()
    status = serializers.ChoiceField(choices=ExportReturn.Status.choices)
    invt_no = serializers.CharField()
    cop_no = serializers.CharField()
    app_time = serializers.SerializerMethodField()
    trade_mode = serializers.CharField()
    customs_code = serializers.CharField()
    ebc_code = serializers.CharField()
    agent_code = serializers.CharField()
    logistics_code = serializers.CharField()
    logistics_name = serializers.CharField()
    logistics_no = serializers.CharField()
    bill_no = serializers.CharField()
    traf_mode = serializers.CharField()
    traf_name = serializers.CharField()
    port_code = serializers.CharField()
    reason = serializers.CharField()
    country = serializers.CharField()
    voyage_no = serializers.CharField()
    items = ReturnLineOutput(many=True, source="items.all")
    send_note = serializers.CharField(allow_blank=True)
    return_status = serializers.CharField(allow_blank=True, help_text="Customs' last CEB214 returnStatus.")
    return_info = serializers.CharField(allow_blank=True)
    created_at = ChinaTime()
    answered_at = ChinaTime(allow_null=True)
    tallies = TallyOutput(many=True, source="tallies.all")

    class Meta:
        ref_name = "ExportReturn"

    def get_app_time(self, export_return: Any) -> str:
        return returns_xml.value_text(export_return.app_time)


class ReturnPage(serializers.Serializer[Any]):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ReturnOutput(many=True)

    class Meta:
        ref_name = "ExportReturnPage"


class ReturnPagination(CursorPagination):
    ordering = ("-id",)
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


def _file(
    *, data: dict[str, Any], enterprise: Enterprise, actor: Actor, signed: bytes | None = None
) -> tuple[ExportReturn, bool]:
    export_list = returns_selectors.list_for_return(enterprise=enterprise, invt_no=data["invt_no"])
    if export_list is None:
        raise NotFoundError
    return returns.export_return_request(
        export_list=export_list, data=data, requested_by=enterprise, actor=actor, signed=signed
    )


def _xml_refusal(document: dict[str, Any], code: str, message: str, status_code: str = "-1") -> dict[str, str]:
    return {
        "agent_code": document.get("agent_code", ""),
        "cop_no": document.get("cop_no", ""),
        "invt_no": document.get("invt_no", ""),
        "ebp_code": document.get("ebp_code", ""),
        "ebc_code": document.get("ebc_code", ""),
        "return_status": status_code,
        "return_info": f"[{code}] {message}",
    }


def submit_refund_xml(*, body: bytes, sender: Enterprise, actor: Actor) -> HttpResponse:
    """Take a signed CEB213: each return checked and filed on its own as a JSON request is,
    answered by a CEB214 (a CEB900 when the message as a whole is refused). A message holding
    one return is forwarded to customs as it came."""
    try:
        root = xml.read_message(body, expected_message=returns_xml.CEB213)
    except xml.MessageRejected as rejected:
        return HttpResponse(
            xml.message_rejected_xml(rejected), status=rejected.status_code, content_type=XML_CONTENT_TYPE
        )
    inbound = hub.inbound_message_record(
        sender=sender,
        channel=InboundMessage.Channel.API_XML,
        message_type=returns_xml.CEB213,
        message_guid=root.get("guid", ""),
        body=body,
        outcome=[],
    )
    check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=sender))
    documents = returns_xml.refund_documents(root)
    results: list[dict[str, str]] = []
    for document in documents:
        if not check.verified:
            results.append(_xml_refusal(document, check.code, check.message, "-625005"))
            continue
        if document.get("agent_code") not in sender.codes:
            results.append(
                _xml_refusal(document, "signature_not_by_declarant", "signer is not the agentCode", "-625013")
            )
            continue
        data = ReturnInput(
            data={k: v for k, v in document.items() if not (k in {"trade_mode", "loct_no", "note"} and v == "")}
        )
        try:
            data.is_valid(raise_exception=True)
            export_return, _created = _file(
                # The InvtRefundHead guid is kept: the message may be forwarded as it came.
                data={**data.validated_data, "guid": document.get("guid") or None},
                enterprise=sender,
                actor=actor,
                signed=body if len(documents) == 1 else None,
            )
        except ValidationError as error:
            results.append(_xml_refusal(document, "validation_failed", str(error.detail)[:500]))
            continue
        except ApiError as error:
            problems_found = error.errors or [FieldError(None, error.code, error.detail)]
            info = " | ".join(f"[{p.code}] {p.message}" + (f"; {p.field}" if p.field else "") for p in problems_found)
            results.append({**_xml_refusal(document, error.code, ""), "return_info": info})
            continue
        results.append(
            {
                **_xml_refusal(document, "", ""),
                "return_status": DECLARING,
                "return_info": f"accepted id={export_return.pk}",
            }
        )
    hub.inbound_message_set_outcome(
        message=inbound, outcome=[{"status": r["return_status"], "info": xml.redact(r["return_info"])} for r in results]
    )
    return HttpResponse(returns_xml.refund_receipt(results=results), status=200, content_type=XML_CONTENT_TYPE)


class ReturnCollectionApi(APIView):
    parser_classes = (JSONParser, CustomsXmlParser, TextXmlParser)

    @extend_schema(
        operation_id="export_returns_file",
        tags=["export returns"],
        summary="File a return of an export list's goods (退货申请单, CEB213)",
        description=DESCRIPTION,
        request={"application/json": ReturnInput, "application/xml": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={
            201: OpenApiResponse(ReturnOutput, description="Stored and handed to the gateway."),
            200: OpenApiResponse(ReturnOutput, description="A change (app_type 2) stored; for XML, the CEB214 answer."),
            **problems(400, 404, 409, 415, 422),
        },
        examples=[
            OpenApiExample("One line", value=RETURN_REQUEST_EXAMPLE, request_only=True),
            OpenApiExample("Released", value=RETURN_EXAMPLE, response_only=True, status_codes=["201", "200"]),
        ],
    )
    @idempotent
    def post(self, request: Request) -> HttpResponse:
        enterprise = caller_enterprise(request)
        actor: Actor = request.user.actor  # type: ignore[union-attr]
        if request.content_type.split(";")[0].strip() in XML_TYPES:
            return submit_refund_xml(body=request.body, sender=enterprise, actor=actor)
        data = ReturnInput(data=request.data)
        data.is_valid(raise_exception=True)
        export_return, created = _file(data=dict(data.validated_data), enterprise=enterprise, actor=actor)
        found = returns_selectors.return_for(enterprise=enterprise, return_id=export_return.pk)
        return Response(ReturnOutput(found).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="export_returns_list",
        tags=["export returns"],
        summary="Your export returns, newest first",
        description="Those you filed, and those of lists whose consignor you are.",
        responses={200: ReturnPage},
        examples=[
            OpenApiExample(
                "One page", value={"next": None, "previous": None, "results": [RETURN_EXAMPLE]}, response_only=True
            )
        ],
    )
    def get(self, request: Request) -> Response:
        queryset = returns_selectors.returns_visible_to(enterprise=caller_enterprise(request)).prefetch_related(
            "items", "tallies"
        )
        paginator = ReturnPagination()
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        answer = ReturnPage(
            {"next": paginator.get_next_link(), "previous": paginator.get_previous_link(), "results": page}
        )
        return Response(answer.data)


class ReturnDetailApi(APIView):
    @extend_schema(
        operation_id="export_returns_read",
        tags=["export returns"],
        summary="An export return with customs' answer (CEB214) and its tallies (CEB216)",
        description="To the enterprise that filed it and the list's consignor; anyone else is answered 404.",
        responses={200: ReturnOutput, **problems(404)},
        examples=[OpenApiExample("Released", value=RETURN_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, return_id: int) -> Response:
        export_return = returns_selectors.return_for(enterprise=caller_enterprise(request), return_id=return_id)
        if export_return is None:
            raise NotFoundError
        return Response(ReturnOutput(export_return).data)


class TallyApi(APIView):
    parser_classes = (JSONParser,)

    class InputSerializer(serializers.Serializer[Any]):
        cop_no = serializers.CharField(max_length=20)
        app_time = CebTime()
        customs_code = serializers.RegexField(r"^[0-9]{4}$")
        logistics_code = serializers.CharField(max_length=18)
        logistics_no = serializers.CharField(max_length=80)
        bill_no = serializers.CharField(max_length=37, required=False, allow_blank=True, default="")
        traf_mode = serializers.CharField(max_length=1, required=False, allow_blank=True, default="")
        traf_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        voyage_no = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
        location = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")
        note = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "ExportReturnTallyInput"

    @extend_schema(
        operation_id="export_returns_tally",
        tags=["export returns"],
        summary="Tally a returned parcel at your site (退货理货明细单, CEB215)",
        description="""The supervised site operator (the caller; `operator_code` is its own code) tallies a
parcel of a return request (`logistics_code` + `logistics_no`; none: `export_tally_unknown_return`,
400). Transport fields left out are the return's. Sent as a CEB215 signed for the operator (one
that can't leave: `export_return_not_sendable`, 409); customs answers CEB216: 399 `concluded`,
100 or negative `refused` (event `export.return_tally_answered`). `cop_no` twice:
`export_tally_duplicate` (409).""",
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={201: OpenApiResponse(TallyOutput, description="Stored and sent."), **problems(400, 409, 415, 422)},
        examples=[
            OpenApiExample("A parcel back", value=TALLY_REQUEST_EXAMPLE, request_only=True),
            OpenApiExample("Concluded", value=TALLY_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tally = returns.export_return_tally(
            data=dict(data.validated_data),
            operator=caller_enterprise(request),
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(TallyOutput(tally).data, status=status.HTTP_201_CREATED)
