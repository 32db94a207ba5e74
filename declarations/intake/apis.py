"""The import documents over REST: submit (JSON or customs XML), read, list, cancel."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError
from core.idempotency import idempotent
from core.openapi import problems
from declarations import selectors
from declarations.customs.intake import submit_xml_message
from declarations.customs.spec import SPECS, Kind
from declarations.intake import examples, services
from declarations.intake.serializers import INPUTS
from declarations.models import DocumentStatus, InventoryStatus
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


def _output_serializer(kind: str) -> type[serializers.Serializer[Any]]:
    """The answer's shape, for the schema: every field of the document as the API shows it."""
    spec = SPECS[kind]

    def field_for(kind_: Kind, name: str) -> serializers.Field[Any, Any, Any, Any]:
        if kind_ is Kind.INTEGER:
            return serializers.IntegerField(allow_null=True)
        help_text = "masked" if name.endswith("_id_number") else ""
        return serializers.CharField(allow_null=True, help_text=help_text)

    name = kind.capitalize()
    attrs: dict[str, Any] = {
        "id": serializers.IntegerField(),
        "status": serializers.ChoiceField(
            choices=InventoryStatus.choices if kind == "inventory" else DocumentStatus.choices
        ),
        "version": serializers.IntegerField(),
    }
    if kind == "inventory":
        attrs["waiting_for"] = serializers.ListField(
            child=serializers.ChoiceField(choices=["order", "payment", "waybill"])
        )
    else:
        attrs["customs_status"] = serializers.CharField(
            allow_blank=True,
            help_text="Customs' last returnStatus for the document the single window forwarded for its sender "
            "(CEB312/412/512: 2 in progress, 120 stored, 100 returned, negative: refused); blank if none.",
        )
    attrs.update({f.name: field_for(f.kind, f.name) for f in spec.head})
    if spec.lines:
        line_attrs: dict[str, Any] = {f.name: field_for(f.kind, f.name) for f in spec.lines}
        line_attrs["Meta"] = type("Meta", (), {"ref_name": f"{name}ItemOutput"})
        attrs["items"] = type(f"{name}ItemOutput", (serializers.Serializer,), line_attrs)(many=True)
    if kind == "inventory":
        attrs["tax_estimate"] = serializers.DictField(
            allow_null=True, help_text="The estimated tax bill (CEB816 shape) once the list is matched; else null."
        )
    attrs["created_at"] = serializers.DateTimeField()
    attrs["updated_at"] = serializers.DateTimeField()
    attrs["Meta"] = type("Meta", (), {"ref_name": f"{name}Output"})
    return type(f"{name}Output", (serializers.Serializer,), attrs)


OUTPUTS = {kind: _output_serializer(kind) for kind in SPECS}
PLURAL = {"order": "orders", "payment": "payments", "waybill": "waybills", "inventory": "inventories"}


class DocumentApi(APIView):
    kind: ClassVar[str]

    def represent(self, request: Request, document: Any) -> dict[str, Any]:
        return selectors.document_representation(kind=self.kind, document=document, viewer=caller_enterprise(request))


class DocumentSubmitApi(DocumentApi):
    parser_classes = (JSONParser, CustomsXmlParser, TextXmlParser)

    @idempotent
    def post(self, request: Request) -> HttpResponse:
        if request.content_type.split(";")[0].strip() in XML_TYPES:
            return submit_xml_message(kind=self.kind, body=request.body, sender=caller_enterprise(request))
        data = INPUTS[self.kind](data=request.data)
        data.is_valid(raise_exception=True)
        result = services.document_submit(
            kind=self.kind, data=dict(data.validated_data), sender=caller_enterprise(request)
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
            kind=self.kind, enterprise=caller_enterprise(request), **filters.validated_data
        )
        paginator = DocumentCursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        return paginator.get_paginated_response([self.represent(request, document) for document in page])


class DocumentDetailApi(DocumentApi):
    def get(self, request: Request, document_id: int) -> Response:
        document = (
            selectors.documents_visible_to(kind=self.kind, enterprise=caller_enterprise(request))
            .filter(pk=document_id)
            .first()
        )
        if document is None:
            raise NotFoundError
        return Response(self.represent(request, document))


class DocumentByKeyApi(DocumentApi):
    def get(self, request: Request, first: str, second: str) -> Response:
        document = selectors.document_by_key(
            kind=self.kind, enterprise=caller_enterprise(request), first=first, second=second
        )
        if document is None:
            raise NotFoundError
        return Response(self.represent(request, document))


class DocumentCollectionApi(DocumentSubmitApi, DocumentListApi):
    """POST submits, GET lists."""


def _views(kind: str) -> dict[str, type[APIView]]:
    """The view classes of one document type, each operation with its own schema."""
    name, plural, output = kind.capitalize(), PLURAL[kind], OUTPUTS[kind]
    key_a, key_b = services.BUSINESS_KEYS[kind]
    tag = [plural]
    message = SPECS[kind].message
    submit = extend_schema(
        operation_id=f"{plural}_submit",
        tags=tag,
        summary=f"Submit a {kind} ({message}) in JSON or customs XML",
        description=examples.SUBMIT_DESCRIPTION.format(message=message, kind=kind),
        request={"application/json": INPUTS[kind], "application/xml": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={
            201: OpenApiResponse(output, description="Stored (app_type 1)."),
            200: OpenApiResponse(output, description="Changed or deleted (app_type 2 or 3); for XML, the receipt."),
            **problems(400, 409, 415, 422),
        },
        examples=examples.submit_examples(kind),
    )
    listing = extend_schema(
        operation_id=f"{plural}_list",
        tags=tag,
        summary=f"{name}s the caller sent or is named in",
        parameters=[
            OpenApiParameter("status", str, description="Only documents in this status."),
            OpenApiParameter(
                "updated_since", OpenApiTypes.DATETIME, description="Only documents changed after this time."
            ),
            OpenApiParameter("cursor", str, description="The cursor from `next` or `previous`."),
            OpenApiParameter("page_size", int, description="Up to 500; 50 by default."),
        ],
        responses={200: OpenApiResponse(output(many=True)), **problems(400)},
        examples=[
            OpenApiExample(
                "A page",
                value={
                    "next": f"http://localhost:8000/api/v1/{plural}?cursor=cD0yMDI2",
                    "previous": None,
                    "results": [examples.OUTPUT_EXAMPLES[kind]],
                },
                response_only=True,
            )
        ],
    )
    detail = extend_schema(
        operation_id=f"{plural}_retrieve",
        tags=tag,
        summary=f"A {kind} by id",
        responses={200: output, **problems(404)},
        examples=[OpenApiExample("Document", value=examples.OUTPUT_EXAMPLES[kind], response_only=True)],
    )
    by_key = extend_schema(
        operation_id=f"{plural}_by_key",
        tags=tag,
        summary=f"A {kind} by its business key ({key_a} + {key_b})",
        responses={200: output, **problems(404)},
        examples=[OpenApiExample("Document", value=examples.OUTPUT_EXAMPLES[kind], response_only=True)],
    )
    collection = extend_schema_view(get=listing, post=submit)(
        type(f"{name}CollectionApi", (DocumentCollectionApi,), {"kind": kind})
    )
    return {
        "collection": collection,
        "detail": extend_schema_view(get=detail)(type(f"{name}DetailApi", (DocumentDetailApi,), {"kind": kind})),
        "by_key": extend_schema_view(get=by_key)(type(f"{name}ByKeyApi", (DocumentByKeyApi,), {"kind": kind})),
    }


VIEWS = {kind: _views(kind) for kind in SPECS}


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
            inventory=inventory, reason=data.validated_data["reason"], requested_by=enterprise
        )
        return Response(self.OutputSerializer(cancellation).data, status=status.HTTP_201_CREATED)


TRACE_EXAMPLE = {
    "ebp_code": "3301960001",
    "order_no": "SW20261125000001",
    "order": examples.OUTPUT_EXAMPLES["order"],
    "payment": examples.OUTPUT_EXAMPLES["payment"],
    "waybill": examples.OUTPUT_EXAMPLES["waybill"],
    "inventory": {**examples.OUTPUT_EXAMPLES["inventory"], "status": "declared", "waiting_for": []},
    "tax_estimate": {
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
    },
    "events": [
        {"at": "2026-11-25T10:15:01+08:00", "type": "document_received", "document": "order:12"},
        {
            "at": "2026-11-25T11:30:02+08:00",
            "type": "status_change",
            "from_status": "",
            "to_status": "pending_documents",
            "source": "enterprise",
            "receipt_code": "",
            "applied": True,
            "note": "app_type 1, app_status 2, version 1",
        },
        {
            "at": "2026-11-25T11:30:02+08:00",
            "type": "rule_result",
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
            "at": "2026-11-25T11:30:02+08:00",
            "type": "status_change",
            "from_status": "matched",
            "to_status": "declared",
            "source": "single_window",
            "receipt_code": "",
            "applied": True,
            "note": "declared to customs automatically",
        },
    ],
}


class OrderTraceApi(APIView):
    @extend_schema(
        operation_id="orders_trace",
        tags=["orders"],
        summary="Everything about one parcel: its four documents, tax estimate, status changes and rule results",
        description=(
            "Events are in time order: documents received, every status change of the list (with the customs "
            "receipt code where one moved it) and every matching rule's result, with the two values that "
            "disagreed (personal ones masked)."
        ),
        responses={200: OpenApiTypes.OBJECT, **problems(404)},
        examples=[OpenApiExample("A declared parcel", value=TRACE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, first: str, second: str) -> Response:
        trace = selectors.parcel_trace(enterprise=caller_enterprise(request), ebp_code=first, order_no=second)
        if trace is None:
            raise NotFoundError
        return Response(trace)
