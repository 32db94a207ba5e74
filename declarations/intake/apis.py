"""The import documents over REST: submit (JSON or customs XML), read, list, cancel, return."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApiError, NotFoundError
from core.idempotency import idempotent
from core.openapi import problems
from core.pagination import CursorPagination
from core.parsers import JSONParser
from core.problems import problem_body
from declarations import selectors
from declarations.customs.intake import submit_return_xml_message, submit_xml_message
from declarations.intake import batches, examples, outputs, returns, services
from declarations.intake.amounts import AsciiDecimalField
from declarations.intake.serializers import MAX_LINES, BatchInput, DecimalString
from declarations.kinds import INVENTORY, KINDS, ORDER, PAYMENT, WAYBILL, DocumentType
from declarations.models import Declaration, InventoryReturn, WaybillDeliveryNotice
from single_window.permissions import caller_enterprise

XML_TYPES = ("application/xml", "text/xml")


class CustomsXmlParser(BaseParser):
    """Hands the raw customs message to the view; ``declarations.customs.xml`` parses it safely."""

    media_type = "application/xml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> bytes:  # type: ignore[override]
        return stream.read() if stream is not None else b""


class TextXmlParser(CustomsXmlParser):
    media_type = "text/xml"


class DocumentCursorPagination(CursorPagination):
    ordering = ("updated_at", "id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


class DocumentApi(APIView):
    document_type: ClassVar[DocumentType]

    def represent(self, request: Request, document: Declaration) -> dict[str, Any]:
        """The document as the caller may see it (``declarations.intake.outputs``)."""
        output = self.document_type.output_serializer(document, context={"viewer": caller_enterprise(request)})
        return output.data


class DocumentSubmitApi(DocumentApi):
    parser_classes = (JSONParser, CustomsXmlParser, TextXmlParser)

    @idempotent
    def post(self, request: Request) -> HttpResponse:
        actor = request.user.actor  # type: ignore[union-attr]
        if request.content_type.split(";")[0].strip() in XML_TYPES:
            return submit_xml_message(
                kind=self.document_type, body=request.body, sender=caller_enterprise(request), actor=actor
            )
        data = self.document_type.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.document_submit(
            kind=self.document_type, data=dict(data.validated_data), sender=caller_enterprise(request), actor=actor
        )
        return Response(
            self.represent(request, result.document),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class DocumentListApi(DocumentApi):
    class FilterSerializer(serializers.Serializer[Any]):
        status = serializers.CharField(required=False)
        updated_since = serializers.DateTimeField(required=False)

        class Meta:
            ref_name = "DocumentFilter"

    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.document_list(
            kind=self.document_type, enterprise=caller_enterprise(request), **filters.validated_data
        )
        paginator = DocumentCursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        answer = self.document_type.page_serializer(
            {"next": paginator.get_next_link(), "previous": paginator.get_previous_link(), "results": page},
            context={"viewer": caller_enterprise(request)},
        )
        return Response(answer.data)


class DocumentDetailApi(DocumentApi):
    def get(self, request: Request, document_id: int) -> Response:
        document = (
            selectors.documents_visible_to(kind=self.document_type, enterprise=caller_enterprise(request))
            .filter(pk=document_id)
            .first()
        )
        if document is None:
            raise NotFoundError
        return Response(self.represent(request, document))


class DocumentByKeyApi(DocumentApi):
    def get(self, request: Request, first: str, second: str) -> Response:
        document = selectors.document_by_key(
            kind=self.document_type, enterprise=caller_enterprise(request), first=first, second=second
        )
        if document is None:
            raise NotFoundError
        return Response(self.represent(request, document))


class DocumentCollectionApi(DocumentSubmitApi, DocumentListApi):
    """POST submits, GET lists."""


# --- The schema of each document type's operations ------------------------------------------


def submit_schema(kind: DocumentType) -> Any:
    output = kind.output_serializer
    return extend_schema(
        operation_id=f"{kind.plural}_submit",
        tags=[kind.plural],
        summary=f"Submit a {kind.name} ({kind.message}) in JSON or customs XML",
        description=examples.SUBMIT_DESCRIPTION.format(message=kind.message, kind=kind.name),
        request={"application/json": kind.input_serializer, "application/xml": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={
            201: OpenApiResponse(output, description="Stored (app_type 1)."),
            200: OpenApiResponse(output, description="Changed or deleted (app_type 2 or 3); for XML, the receipt."),
            # 404: a change or deletion of a key that isn't there or the caller may not see;
            # 403: of a document another enterprise sent.
            **problems(400, 404, 409, 415, 422),
        },
        examples=examples.submit_examples(kind),
    )


def list_schema(kind: DocumentType) -> Any:
    return extend_schema(
        operation_id=f"{kind.plural}_list",
        tags=[kind.plural],
        summary=f"{kind.plural.capitalize()} the caller sent or is named in",
        parameters=[
            OpenApiParameter("status", str, description="Only documents in this status."),
            OpenApiParameter(
                "updated_since", OpenApiTypes.DATETIME, description="Only documents changed after this time."
            ),
            OpenApiParameter("cursor", str, description="The cursor from `next` or `previous`."),
            OpenApiParameter("page_size", int, description="Up to 500; 50 by default."),
        ],
        responses={200: OpenApiResponse(kind.page_serializer), **problems(400)},
        examples=[OpenApiExample("A page", value=examples.page_example(kind), response_only=True)],
    )


def detail_schema(kind: DocumentType) -> Any:
    return extend_schema(
        operation_id=f"{kind.plural}_retrieve",
        tags=[kind.plural],
        summary=f"A {kind.name} by id",
        responses={200: kind.output_serializer, **problems(404)},
        examples=[OpenApiExample("Document", value=examples.OUTPUT_EXAMPLES[kind.name], response_only=True)],
    )


def by_key_schema(kind: DocumentType) -> Any:
    key_a, key_b = kind.business_key
    return extend_schema(
        operation_id=f"{kind.plural}_by_key",
        tags=[kind.plural],
        summary=f"A {kind.name} by its business key ({key_a} + {key_b})",
        responses={200: kind.output_serializer, **problems(404)},
        examples=[OpenApiExample("Document", value=examples.OUTPUT_EXAMPLES[kind.name], response_only=True)],
    )


# --- The views of each document type ---------------------------------------------------------


@extend_schema_view(get=list_schema(ORDER), post=submit_schema(ORDER))
class OrderCollectionApi(DocumentCollectionApi):
    document_type = ORDER


@extend_schema_view(get=detail_schema(ORDER))
class OrderDetailApi(DocumentDetailApi):
    document_type = ORDER


@extend_schema_view(get=by_key_schema(ORDER))
class OrderByKeyApi(DocumentByKeyApi):
    document_type = ORDER


@extend_schema_view(get=list_schema(PAYMENT), post=submit_schema(PAYMENT))
class PaymentCollectionApi(DocumentCollectionApi):
    document_type = PAYMENT


@extend_schema_view(get=detail_schema(PAYMENT))
class PaymentDetailApi(DocumentDetailApi):
    document_type = PAYMENT


@extend_schema_view(get=by_key_schema(PAYMENT))
class PaymentByKeyApi(DocumentByKeyApi):
    document_type = PAYMENT


@extend_schema_view(get=list_schema(WAYBILL), post=submit_schema(WAYBILL))
class WaybillCollectionApi(DocumentCollectionApi):
    document_type = WAYBILL


@extend_schema_view(get=detail_schema(WAYBILL))
class WaybillDetailApi(DocumentDetailApi):
    document_type = WAYBILL


@extend_schema_view(get=by_key_schema(WAYBILL))
class WaybillByKeyApi(DocumentByKeyApi):
    document_type = WAYBILL


@extend_schema_view(get=list_schema(INVENTORY), post=submit_schema(INVENTORY))
class InventoryCollectionApi(DocumentCollectionApi):
    document_type = INVENTORY


@extend_schema_view(get=detail_schema(INVENTORY))
class InventoryDetailApi(DocumentDetailApi):
    document_type = INVENTORY


@extend_schema_view(get=by_key_schema(INVENTORY))
class InventoryByKeyApi(DocumentByKeyApi):
    document_type = INVENTORY


# Each type's name to the URL segment, for callers that build URLs from a name (the tests).
PLURAL: dict[str, str] = {name: kind.plural for name, kind in KINDS.items()}


class InventoryCancelApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=1000)

        class Meta:
            ref_name = "InventoryCancel"

    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        inventory_id = serializers.IntegerField()
        reason = serializers.CharField()
        status = serializers.CharField()
        created_at = serializers.DateTimeField()

        class Meta:
            ref_name = "InventoryCancellation"

    @extend_schema(
        operation_id="inventories_cancel",
        tags=["inventories"],
        summary="Ask customs to cancel a declared list (CEB623)",
        description="Recorded now and sent to customs by the gateway. Needs a reason.",
        request=InputSerializer,
        responses={201: OutputSerializer, **problems(400, 404, 409, 415)},
        examples=[
            OpenApiExample("Reason", value={"reason": "买家取消订单 The buyer cancelled the order"}, request_only=True),
            OpenApiExample(
                "Recorded",
                value={
                    "id": 3,
                    "inventory_id": 81,
                    "reason": "买家取消订单 The buyer cancelled the order",
                    "status": "recorded",
                    "created_at": "2026-11-25T10:30:00+08:00",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    @idempotent
    def post(self, request: Request, inventory_id: int) -> Response:
        enterprise = caller_enterprise(request)
        inventory = selectors.inventory_for_cancel(enterprise=enterprise, inventory_id=inventory_id)
        if inventory is None:
            raise NotFoundError
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cancellation = services.inventory_cancel_request(
            inventory=inventory,
            reason=data.validated_data["reason"],
            requested_by=enterprise,
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(self.OutputSerializer(cancellation).data, status=status.HTTP_201_CREATED)


class ReturnQty(DecimalString):
    """A quantity returned, as a decimal string; its sign is judged by the service
    (``return_qty_not_positive``), so every line's problem comes with the others."""

    def __init__(self, **kwargs: Any) -> None:
        AsciiDecimalField.__init__(self, max_digits=19, decimal_places=5, coerce_to_string=True, **kwargs)


class LineInput(serializers.Serializer[Any]):
    gnum = serializers.IntegerField(help_text="The list's line.")
    qty = ReturnQty(help_text="The quantity returned, a decimal string above 0.")

    class Meta:
        ref_name = "InventoryReturnLineInput"


RETURN_EXAMPLE: dict[str, Any] = {
    "id": 5,
    "inventory_id": 81,
    "guid": "6B1E3C1A-8E0F-4C55-9B44-2F1D0E7A9C10",
    "reason": "商品破损 The goods arrived damaged",
    "whole_list": False,
    "status": "sent",
    "items": [
        {
            "gnum": 1,
            "gcode": "3304990099",
            "gname": "面霜",
            "qty": "1",
            "unit": "007",
            "dutiable_value": "101.49",
        }
    ],
    "dutiable_value": "101.49",
    "quota_given_back": False,
    "quota_amount": "0.00",
    "return_status": "",
    "return_info": "",
    "created_at": "2026-11-28T09:30:00+08:00",
    "sent_at": "2026-11-28T09:30:00+08:00",
    "answered_at": None,
    "concluded_at": None,
}
RETURN_DESCRIPTION = """Only the list's declaring agent (its `agent_code`) files or reads its returns; anyone
else is answered 404, as for a list that does not exist.

A return is taken while the list is `released` and within 30 days of customs' release (the
800 receipt's `returnTime`): later it is refused `return_window_closed` (409), before release or
after a cancellation `return_not_allowed_in_state` (409). Without `items` the whole list is
returned (everything earlier returns have not taken); with `items`, each names a line (`gnum`)
and a quantity above 0 and not above what remains of it (`return_unknown_gnum`,
`return_qty_not_positive`, `return_qty_exceeds_remaining`: 400, every line in one answer).
Nothing is stored on any refusal.

The return is sent to customs as a CEB625 signed for the agent; customs answers with a CEB626:
120 `entered`, 399 `concluded` (the dutiable value returned goes back to the buyer's annual
quota, once), 100 or a negative code `refused`. The list stays `released` throughout.

`Content-Type: application/xml` takes a signed `CEB625Message` (up to 100 `InvtRefund`, each
naming this list by `invtNo` and `agentCode`, signed by the agent with a certificate it
registered) and answers a `CEB626Message` with one `InvtRefundReturn` per return (2 taken, or
customs' negative code), or a `CEB900Message` when the message fails the schema."""


@extend_schema_view(
    get=extend_schema(
        operation_id="inventories_returns_list",
        tags=["inventories"],
        summary="The return requests of a list (CEB625) and customs' answers (CEB626)",
        description=RETURN_DESCRIPTION,
        responses={200: outputs.InventoryReturnOutput(many=True), **problems(404)},
        examples=[OpenApiExample("One return", value=[RETURN_EXAMPLE], response_only=True)],
    ),
)
class InventoryReturnsApi(APIView):
    parser_classes = (JSONParser, CustomsXmlParser, TextXmlParser)

    class InputSerializer(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=1000)
        items = LineInput(
            many=True,
            required=False,
            allow_empty=True,
            help_text="The lines returned (up to 99); leave out to return the whole list.",
        )

        class Meta:
            ref_name = "InventoryReturnInput"

        def validate_items(self, value: list[Any]) -> list[Any]:
            if len(value) > MAX_LINES:
                raise serializers.ValidationError(f"At most {MAX_LINES} lines.", code="max_length")
            return value

    @extend_schema(
        operation_id="inventories_returns_file",
        tags=["inventories"],
        summary="Return a released list, whole or some lines, within 30 days of release (CEB625)",
        description=RETURN_DESCRIPTION,
        request={"application/json": InputSerializer, "application/xml": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={
            201: OpenApiResponse(outputs.InventoryReturnOutput, description="Recorded and handed to the gateway."),
            200: OpenApiResponse(OpenApiTypes.STR, description="For XML, the CEB626Message answer."),
            **problems(400, 404, 409, 415, 422),
        },
        examples=[
            OpenApiExample(
                "Some lines",
                value={"reason": "商品破损 The goods arrived damaged", "items": [{"gnum": 1, "qty": "1"}]},
                request_only=True,
            ),
            OpenApiExample("The whole list", value={"reason": "买家退货 The buyer sent it back"}, request_only=True),
            OpenApiExample("Recorded", value=RETURN_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def post(self, request: Request, inventory_id: int) -> HttpResponse:
        enterprise = caller_enterprise(request)
        inventory = selectors.inventory_for_return(enterprise=enterprise, inventory_id=inventory_id)
        if inventory is None:
            raise NotFoundError
        actor = request.user.actor  # type: ignore[union-attr]
        if request.content_type.split(";")[0].strip() in XML_TYPES:
            return submit_return_xml_message(inventory=inventory, body=request.body, sender=enterprise, actor=actor)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        items = data.validated_data.get("items") or []
        inventory_return = returns.inventory_return_request(
            inventory=inventory,
            reason=data.validated_data["reason"],
            lines=[returns.ReturnLine(gnum=item["gnum"], qty=item["qty"]) for item in items],
            requested_by=enterprise,
            actor=actor,
        )
        return Response(outputs.InventoryReturnOutput(inventory_return).data, status=status.HTTP_201_CREATED)

    def get(self, request: Request, inventory_id: int) -> Response:
        inventory = selectors.inventory_for_return(enterprise=caller_enterprise(request), inventory_id=inventory_id)
        if inventory is None:
            raise NotFoundError
        answer = outputs.InventoryReturnOutput(selectors.inventory_returns(inventory=inventory), many=True)
        return Response(answer.data)


TAX_ESTIMATE_EXAMPLE: dict[str, Any] = {
    "mode": "within_limits",
    "dutiable_total": "408.00",
    "customs_tax": "0.00",
    "value_added_tax": "37.13",
    "consumption_tax": "0.00",
    "tax_total": "37.13",
    "items": [
        {
            "gnum": 1,
            "gcode": "3304990099",
            "dutiable_value": "202.97",
            "customs_tax": "0.00",
            "value_added_tax": "18.47",
            "consumption_tax": "0.00",
        },
        {
            "gnum": 2,
            "gcode": "1901101000",
            "dutiable_value": "205.03",
            "customs_tax": "0.00",
            "value_added_tax": "18.66",
            "consumption_tax": "0.00",
        },
    ],
}

TRACE_EXAMPLE = {
    "ebp_code": "3301960001",
    "order_no": "SW20261125000001",
    "order": examples.OUTPUT_EXAMPLES["order"],
    "payment": examples.OUTPUT_EXAMPLES["payment"],
    "waybill": examples.OUTPUT_EXAMPLES["waybill"],
    "inventory": {
        **examples.OUTPUT_EXAMPLES["inventory"],
        "status": "declared",
        "waiting_for": [],
        "tax_estimate": TAX_ESTIMATE_EXAMPLE,
    },
    "tax_estimate": TAX_ESTIMATE_EXAMPLE,
    "tax_bills": [],
    "tracking": None,
    "events": [
        {"at": "2026-11-25T10:15:01+08:00", "type": "document_received", "document": "order:12"},
        {
            "type": "status_change",
            "at": "2026-11-25T11:30:02+08:00",
            "from_status": "",
            "to_status": "pending_documents",
            "source": "enterprise",
            "receipt_code": "",
            "applied": True,
            "note": "app_type 1, app_status 2, version 1",
        },
        {
            "type": "rule_result",
            "at": "2026-11-25T11:30:02+08:00",
            "run": 1,
            "rule": "payment_amount_equals_order",
            "outcome": "passed",
            "field": "",
            "list_value": "",
            "other_value": "",
            "documents": ["payment:7", "order:12"],
            "customs_code": "",
            "note": "",
        },
        {
            "type": "status_change",
            "at": "2026-11-25T11:30:02+08:00",
            "from_status": "matched",
            "to_status": "declared",
            "source": "single_window",
            "receipt_code": "",
            "applied": True,
            "note": "declared to customs automatically",
        },
    ],
}


class DocumentReceivedEvent(serializers.Serializer[Any]):
    at = outputs.ChinaTime()
    type = serializers.CharField(help_text="document_received")
    document = serializers.CharField(help_text="The document received, as its type and id: order:12.")

    class Meta:
        ref_name = "TraceDocumentReceived"


class StatusChangeEvent(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="status_change")
    at = outputs.ChinaTime()
    from_status = serializers.CharField(allow_blank=True, help_text="Blank when the list was created.")
    to_status = serializers.CharField()
    # A declared field, not Field.source (the serializer's metaclass takes it out of the class).
    source = serializers.CharField(  # type: ignore[assignment]
        help_text="Who moved the list: enterprise, single_window, customs_receipt, ..."
    )
    receipt_code = serializers.CharField(allow_blank=True, help_text="The customs receipt's status, if one moved it.")
    applied = serializers.BooleanField(help_text="False: recorded only (a late or repeated receipt).")
    note = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "TraceStatusChange"


class RuleResultEvent(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="rule_result")
    at = outputs.ChinaTime()
    run = serializers.IntegerField(help_text="The matching run, from 1.")
    rule = serializers.CharField()
    outcome = serializers.CharField()
    field = serializers.CharField(allow_blank=True)
    list_value = serializers.CharField(allow_blank=True, help_text="Masked where personal.")
    other_value = serializers.CharField(allow_blank=True, help_text="Masked where personal.")
    documents = serializers.ListField(child=serializers.CharField(), help_text="As type:id.")
    customs_code = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "TraceRuleResult"


class TaxBillEvent(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="tax_bill (customs issued it) or tax_bill_status (summarised, paid, void)")
    at = outputs.ChinaTime()
    tax_no = serializers.CharField()
    status = serializers.CharField(help_text="1 generated, 2 summarised, 3 void (CEB816/CEB818).")
    ent_duty_no = serializers.CharField(allow_blank=True, help_text="The payment notice number, once paid.")
    tax_total = serializers.DecimalField(max_digits=19, decimal_places=2)
    differs_from_estimate = serializers.BooleanField()

    class Meta:
        ref_name = "TraceTaxBill"


class TaxBillOutput(serializers.Serializer[Any]):
    """Customs' bill beside the single window's estimate (yuan, two decimals)."""

    tax_no = serializers.CharField()
    invt_no = serializers.CharField()
    status = serializers.CharField(help_text="1 generated, 2 summarised, 3 void.")
    ent_duty_no = serializers.CharField(allow_blank=True)
    customs_tax = serializers.DecimalField(max_digits=19, decimal_places=2)
    value_added_tax = serializers.DecimalField(max_digits=19, decimal_places=2)
    consumption_tax = serializers.DecimalField(max_digits=19, decimal_places=2)
    tax_total = serializers.DecimalField(max_digits=19, decimal_places=2)
    estimated_total = serializers.DecimalField(max_digits=19, decimal_places=2, allow_null=True)
    differs_from_estimate = serializers.BooleanField(source="differs")
    differences = serializers.DictField(
        help_text='Each component (and item) that differs: {"consumption_tax": {"estimate": "0.00", "bill": "22.05"}}.'
    )
    issued_at = outputs.ChinaTime()

    class Meta:
        ref_name = "TraceTaxBillDetail"


class ReturnLineEvent(serializers.Serializer[Any]):
    gnum = serializers.IntegerField()
    qty = serializers.SerializerMethodField(help_text="A decimal string.")

    class Meta:
        ref_name = "TraceReturnLine"

    def get_qty(self, line: dict[str, Any]) -> str:
        return format(line["qty"].normalize(), "f")


class ReturnEvent(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="return")
    at = outputs.ChinaTime(help_text="When the agent filed it.")
    return_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=InventoryReturn.Status.choices, help_text="Its state now.")
    whole_list = serializers.BooleanField()
    items = ReturnLineEvent(many=True)
    dutiable_value = serializers.CharField(help_text="Yuan, two decimals.")
    quota_given_back = serializers.BooleanField()
    return_status = serializers.CharField(allow_blank=True, help_text="Customs' last CEB626 returnStatus.")
    return_info = serializers.CharField(allow_blank=True)
    answered_at = outputs.ChinaTime(allow_null=True)

    class Meta:
        ref_name = "TraceReturn"


class DeliveryNoticeEvent(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="delivery_notice")
    at = outputs.ChinaTime(help_text="When the carrier delivered the parcel.")
    notice_id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=WaybillDeliveryNotice.Status.choices,
        help_text="Its state now: recorded, sent, answered (CEB514 120), refused, send_failed.",
    )
    delivered_at = outputs.ChinaTime()
    return_status = serializers.CharField(allow_blank=True, help_text="Customs' CEB514 returnStatus.")
    return_info = serializers.CharField(allow_blank=True)
    answered_at = outputs.ChinaTime(allow_null=True)

    class Meta:
        ref_name = "TraceDeliveryNotice"


class TrackingEvent(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="tracking")
    at = outputs.ChinaTime(help_text="When the carrier says it happened.")
    status = serializers.CharField(
        help_text="picked_up, departed, arrived_hub, at_customs, released, out_for_delivery, delivered, exception"
    )
    place = serializers.CharField(allow_blank=True, help_text="Blank out for delivery and at delivery.")
    transport_mode = serializers.CharField(help_text="air, sea, rail, road, express")
    leg = serializers.IntegerField()

    class Meta:
        ref_name = "TraceTracking"


class TrackingSummary(serializers.Serializer[Any]):
    current_status = serializers.CharField(allow_blank=True)
    status_since = outputs.ChinaTime(allow_null=True)
    delayed = serializers.BooleanField(help_text="No event for longer than the usual time of the current leg.")
    delivered_at = outputs.ChinaTime(allow_null=True)
    delivery_notice = serializers.CharField(help_text="none, sent (CEB513 to customs), not_released_flagged")

    class Meta:
        ref_name = "TraceTrackingSummary"


TRACE_EVENT_SHAPES: dict[str, type[serializers.Serializer[Any]]] = {
    "document_received": DocumentReceivedEvent,
    "status_change": StatusChangeEvent,
    "rule_result": RuleResultEvent,
    "tax_bill": TaxBillEvent,
    "tax_bill_status": TaxBillEvent,
    "return": ReturnEvent,
    "delivery_notice": DeliveryNoticeEvent,
    "tracking": TrackingEvent,
}


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="TraceEvent",
        serializers={**TRACE_EVENT_SHAPES},
        resource_type_field_name="type",
        many=True,
    )
)
class TraceEvents(serializers.Field[Any, Any, Any, Any]):
    """The parcel's events (``selectors.ParcelTrace.events``), each in the shape of its type."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [TRACE_EVENT_SHAPES[event["type"]](event).data for event in value]


class OrderTraceApi(APIView):
    class OutputSerializer(serializers.Serializer[Any]):
        ebp_code = serializers.CharField()
        order_no = serializers.CharField()
        order = ORDER.output_serializer(allow_null=True)
        payment = PAYMENT.output_serializer(allow_null=True)
        waybill = WAYBILL.output_serializer(allow_null=True)
        inventory = INVENTORY.output_serializer(allow_null=True)
        tax_estimate = outputs.TaxEstimateOutput(allow_null=True, help_text="The list's, as on the list.")
        tax_bills = TaxBillOutput(many=True, help_text="Customs' tax bills of the list (CEB816), oldest first.")
        tracking = TrackingSummary(allow_null=True, help_text="Where the carriers say the parcel is; null: no report.")
        events = TraceEvents()

        class Meta:
            ref_name = "ParcelTrace"

    @extend_schema(
        operation_id="orders_trace",
        tags=["orders"],
        summary="Everything about one parcel: its four documents, tax estimate, status changes and rule results",
        description=(
            "Events are in time order: documents received, every status change of the list (with the customs "
            "receipt code where one moved it), every matching rule's result, with the two values that "
            "disagreed (personal ones masked), the list's return requests (CEB625) with their state now, and the "
            "waybill's delivery notice to customs (CEB513, answered by CEB514) with its state now."
        ),
        responses={200: OutputSerializer, **problems(404)},
        examples=[OpenApiExample("A declared parcel", value=TRACE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, first: str, second: str) -> Response:
        enterprise = caller_enterprise(request)
        trace = selectors.parcel_trace(enterprise=enterprise, ebp_code=first, order_no=second)
        if trace is None:
            raise NotFoundError
        return Response(self.OutputSerializer(trace, context={"viewer": enterprise}).data)


class BatchApi(APIView):
    """Up to ``BATCH_MAX_DOCUMENTS`` documents of any of the four kinds in one request."""

    @extend_schema(
        operation_id="batches_submit",
        tags=["batches"],
        summary="Submit up to 1,000 documents of any kind in one request",
        description=examples.BATCH_DESCRIPTION,
        request=BatchInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={
            200: OpenApiResponse(outputs.BatchOutput, description="One result per document, in order."),
            **problems(400, 409, 413, 415, 422),
        },
        examples=[
            OpenApiExample("Two orders", value=examples.BATCH_REQUEST, request_only=True),
            OpenApiExample("One stored, one refused", value=examples.BATCH_RESPONSE, response_only=True),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        sender = caller_enterprise(request)
        data = BatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        documents = [
            batches.BatchDocument(kind=KINDS[entry["kind"]], body=entry["document"])
            for entry in data.validated_data["documents"]
        ]
        outcomes = batches.batch_submit(documents=documents, sender=sender, actor=request.user.actor)  # type: ignore[union-attr]
        results = [self._result(request, index, outcome) for index, outcome in enumerate(outcomes)]
        accepted = sum(1 for outcome in outcomes if outcome.accepted)
        answer = {"accepted": accepted, "refused": len(outcomes) - accepted, "results": results}
        return Response(outputs.BatchOutput(answer).data)

    @staticmethod
    def _result(request: Request, index: int, outcome: batches.BatchOutcome) -> dict[str, Any]:
        head: dict[str, Any] = {"index": index, "kind": outcome.kind.name}
        if outcome.result is not None:
            document = outcome.result.document
            return {
                **head,
                "status": "accepted",
                "id": document.pk,
                "created": outcome.result.created,
                "document_status": document.status,  # type: ignore[attr-defined]
            }
        error: ApiError = outcome.error  # type: ignore[assignment]
        problem = problem_body(
            status=error.status_code,
            code=error.code,
            detail=error.detail,
            errors_=error.errors,
            instance=f"{request.path}#/documents/{index}",
            extra=error.extra,
        )
        return {**head, "status": "refused", "problem": problem}
