"""The export documents over REST, under ``/api/v1/export/``: submit (JSON or signed customs
XML), read by id or business key, list; cancel a list; the parcel's trace."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError
from core.idempotency import idempotent
from core.openapi import problems
from core.parsers import JSONParser
from declarations.export import examples, kinds, services, trace
from declarations.export.kinds import ExportKind
from declarations.export.outputs import (
    ExportArrivalOutput,
    ExportDepartureOutput,
    ExportDocumentOutput,
    ExportListCancellationOutput,
    ExportListOutput,
    ExportMasterBillOutput,
    ExportOrderOutput,
    ExportReceiptOutput,
    ExportWaybillOutput,
)
from declarations.export.xml_intake import submit_cancellation_xml, submit_export_xml
from declarations.intake.apis import XML_TYPES, CustomsXmlParser, DocumentCursorPagination, TextXmlParser
from declarations.models import Declaration, ExportListStatus
from single_window.permissions import caller_enterprise

OUTPUTS: dict[str, type[ExportDocumentOutput]] = {
    "export_order": ExportOrderOutput,
    "export_receipt": ExportReceiptOutput,
    "export_waybill": ExportWaybillOutput,
    "export_arrival": ExportArrivalOutput,
    "export_departure": ExportDepartureOutput,
    "export_list": ExportListOutput,
    "export_master_bill": ExportMasterBillOutput,
}
SENT_BY = {
    "export_order": "the e-commerce platform (ebp_code) or the seller (ebc_code)",
    "export_receipt": "the payment company (pay_code)",
    "export_waybill": "the carrier (logistics_code)",
    "export_arrival": "the supervised site's operator (operator_code; role area, or logistics on postal routes)",
    "export_departure": "the carrier (logistics_code)",
    "export_list": "the declaring agent (agent_code; an agent appointed by the seller, or the seller itself)",
    "export_master_bill": "the declaring agent (agent_code)",
}
SUBMIT_DESCRIPTION = """\
Send one {label} as JSON, or up to 100 as the signed customs message {message} with
`Content-Type: application/xml` (validated against the export schema `export202205.xsd`; a
message that fails is answered with a CEB900 and HTTP 400; the signature must verify with a
certificate the caller registered; the answer is the receipt {receipt} with one return per
document).

Sent by {sent_by}: an enterprise sends only under its own code (403
`export_sender_not_party`). `app_type` 1 stores a new document (409 `export_duplicate_document`
if the business key {key} is taken), 2 replaces it by its business key with the next version,
3 deletes it; `app_status` 1 keeps a draft, 2 declares (the single window signs it and sends it
to customs). A version whose `app_time` is not later than the stored one is refused (409
`export_stale_app_time`). A change of a key the caller may not see is 404 `not_found`, as a key
nobody stored. Amounts are decimal strings.
"""


class ExportDocumentApi(APIView):
    export_kind: ClassVar[ExportKind]

    def represent(self, request: Request, document: Declaration) -> dict[str, Any]:
        output = OUTPUTS[self.export_kind.name](document, context={"viewer": caller_enterprise(request)})
        return output.data


class ExportCollectionApi(ExportDocumentApi):
    """POST submits (JSON or XML), GET lists what the caller sent or is named in."""

    parser_classes = (JSONParser, CustomsXmlParser, TextXmlParser)

    class FilterSerializer(serializers.Serializer[Any]):
        status = serializers.CharField(required=False)
        updated_since = serializers.DateTimeField(required=False)

        class Meta:
            ref_name = "ExportDocumentFilter"

    @idempotent
    def post(self, request: Request) -> HttpResponse:
        actor = request.user.actor  # type: ignore[union-attr]
        sender = caller_enterprise(request)
        if request.content_type.split(";")[0].strip() in XML_TYPES:
            return submit_export_xml(kind=self.export_kind, body=request.body, sender=sender, actor=actor)
        data = self.export_kind.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.export_document_submit(
            kind=self.export_kind, data=dict(data.validated_data), sender=sender, actor=actor
        )
        return Response(
            self.represent(request, result.document),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = services.visible_to(self.export_kind, caller_enterprise(request))
        if filters.validated_data.get("status"):
            queryset = queryset.filter(status=filters.validated_data["status"])
        if filters.validated_data.get("updated_since"):
            queryset = queryset.filter(updated_at__gt=filters.validated_data["updated_since"])
        if self.export_kind.line_model is not None:
            queryset = queryset.prefetch_related("items")
        paginator = DocumentCursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        viewer = caller_enterprise(request)
        return Response(
            {
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": [OUTPUTS[self.export_kind.name](row, context={"viewer": viewer}).data for row in page],
            }
        )


class ExportDetailApi(ExportDocumentApi):
    def get(self, request: Request, document_id: int) -> Response:
        document = services.visible_to(self.export_kind, caller_enterprise(request)).filter(pk=document_id).first()
        if document is None:
            raise NotFoundError
        return Response(self.represent(request, document))


class ExportByKeyApi(ExportDocumentApi):
    def get(self, request: Request, first: str, second: str) -> Response:
        a, b = self.export_kind.business_key
        document = (
            services.visible_to(self.export_kind, caller_enterprise(request))
            .filter(**{a: first, b: second})
            .order_by("-id")
            .first()
        )
        if document is None:
            raise NotFoundError
        return Response(self.represent(request, document))


def _page_example(kind: ExportKind) -> dict[str, Any]:
    return {"next": None, "previous": None, "results": [examples.output_example(kind.name)]}


def views_for(kind: ExportKind) -> tuple[type[APIView], type[APIView], type[APIView]]:
    """The collection, detail and by-key views of one kind, each with its OpenAPI description."""
    output = OUTPUTS[kind.name]
    tag = f"export {kind.plural}"
    example = examples.EXAMPLES[kind.name]
    answer = examples.output_example(kind.name)
    key_a, key_b = kind.business_key
    description = SUBMIT_DESCRIPTION.format(
        label=kind.label,
        message=kind.message,
        receipt=kind.spec.receipt_message,
        sent_by=SENT_BY[kind.name],
        key=f"{key_a} + {key_b}",
    )
    name = "".join(part.capitalize() for part in kind.name.split("_"))
    submit_schema = extend_schema(
        operation_id=f"export_{kind.plural.replace('-', '_')}_submit",
        tags=[tag],
        summary=f"Submit a {kind.label} ({kind.message}) in JSON or signed customs XML",
        description=description,
        request={"application/json": kind.input_serializer, "application/xml": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={
            201: OpenApiResponse(output, description="Stored (app_type 1)."),
            200: OpenApiResponse(output, description=f"Changed or deleted; for XML, the {kind.spec.receipt_message}."),
            **problems(400, 403, 404, 409, 415, 422),
        },
        examples=[
            OpenApiExample("New, declared", value=example, request_only=True),
            OpenApiExample(
                "A new version",
                value={**example, "app_type": "2", "app_time": str(int(example["app_time"]) + 100)},
                request_only=True,
            ),
            OpenApiExample("Stored", value=answer, response_only=True, status_codes=["201"]),
        ],
    )
    list_schema = extend_schema(
        operation_id=f"export_{kind.plural.replace('-', '_')}_list",
        tags=[tag],
        summary=f"The {kind.label}s the caller sent or is named in",
        parameters=[
            OpenApiParameter("status", str, description="Only documents in this status."),
            OpenApiParameter("updated_since", OpenApiTypes.DATETIME, description="Only those changed after."),
            OpenApiParameter("cursor", str, description="The cursor from `next` or `previous`."),
            OpenApiParameter("page_size", int, description="Up to 500; 50 by default."),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="A page: next, previous, results."),
            **problems(400),
        },
        examples=[OpenApiExample("A page", value=_page_example(kind), response_only=True)],
    )
    collection = extend_schema_view(post=submit_schema, get=list_schema)(
        type(f"{name}CollectionApi", (ExportCollectionApi,), {"export_kind": kind})
    )
    detail = extend_schema_view(
        get=extend_schema(
            operation_id=f"export_{kind.plural.replace('-', '_')}_retrieve",
            tags=[tag],
            summary=f"A {kind.label} by id",
            responses={200: output, **problems(404)},
            examples=[OpenApiExample("Document", value=answer, response_only=True)],
        )
    )(type(f"{name}DetailApi", (ExportDetailApi,), {"export_kind": kind}))
    by_key = extend_schema_view(
        get=extend_schema(
            operation_id=f"export_{kind.plural.replace('-', '_')}_by_key",
            tags=[tag],
            summary=f"A {kind.label} by its business key ({key_a} + {key_b})",
            responses={200: output, **problems(404)},
            examples=[OpenApiExample("Document", value=answer, response_only=True)],
        )
    )(type(f"{name}ByKeyApi", (ExportByKeyApi,), {"export_kind": kind}))
    return collection, detail, by_key


class ExportListCancelApi(APIView):
    parser_classes = (JSONParser, CustomsXmlParser, TextXmlParser)

    class InputSerializer(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=1000)

        class Meta:
            ref_name = "ExportListCancel"

    @extend_schema(
        operation_id="export_lists_cancel",
        tags=["export lists"],
        summary="Ask customs to cancel a released export list (CEB605)",
        description=(
            "By the list's declaring agent only (anyone else: 404). Only a list customs released and not "
            "yet summarised (409 `export_cancel_not_allowed_in_state`); one open request at a time (409 "
            "`export_cancel_already_requested`). Signed for the agent and sent as a CEB605; customs answers "
            "CEB606: 399 accepted (the list becomes `cancelled`), 100 refused. `Content-Type: application/xml` "
            "takes the agent's own signed CEB605 naming this list (`invtNo`, `agentCode`) and answers a CEB606 "
            "(2 taken, or the refusal), or a CEB900 when the message fails the export schema."
        ),
        request={"application/json": InputSerializer, "application/xml": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={
            201: ExportListCancellationOutput,
            200: OpenApiResponse(OpenApiTypes.STR, description="For XML, the CEB606Message answer."),
            **problems(400, 404, 409, 415),
        },
        examples=[
            OpenApiExample("Reason", value={"reason": "买家取消订单 The buyer cancelled the order"}, request_only=True),
            OpenApiExample(
                "Recorded",
                value={
                    "id": 3,
                    "export_list_id": 81,
                    "guid": "6B1E3C1A-8E0F-4C55-9B44-2F1D0E7A9C10",
                    "reason": "买家取消订单 The buyer cancelled the order",
                    "status": "recorded",
                    "customs_status": "",
                    "customs_note": "",
                    "created_at": "2026-12-03T18:30:00+08:00",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    @idempotent
    def post(self, request: Request, list_id: int) -> HttpResponse:
        enterprise = caller_enterprise(request)
        export_list = services.visible_to(kinds.LIST, enterprise).filter(pk=list_id, sender=enterprise).first()
        if export_list is None:
            raise NotFoundError
        if request.content_type.split(";")[0].strip() in XML_TYPES:
            return submit_cancellation_xml(
                export_list=export_list,
                body=request.body,
                sender=enterprise,
                actor=request.user.actor,  # type: ignore[union-attr]
            )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cancellation = services.export_list_cancel_request(
            export_list=export_list,
            reason=data.validated_data["reason"],
            requested_by=enterprise,
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(ExportListCancellationOutput(cancellation).data, status=status.HTTP_201_CREATED)


TRACE_EXAMPLE: dict[str, Any] = {
    "ebp_code": examples.EBP_CODE,
    "order_no": examples.ORDER_NO,
    "order": examples.output_example("export_order"),
    "receipt": examples.output_example("export_receipt"),
    "waybill": {**examples.output_example("export_waybill"), "ebc_telephone": "139****9000"},
    "arrival": examples.output_example("export_arrival"),
    "export_list": {
        **examples.output_example("export_list"),
        "status": ExportListStatus.RELEASED,
        "history": [
            {
                "from_status": "",
                "to_status": "pending_documents",
                "source": "enterprise",
                "receipt_code": "",
                "applied": True,
                "note": "app_type 1, app_status 2, version 1",
                "at": "2026-12-03T10:15:00+08:00",
            },
            {
                "from_status": "declared",
                "to_status": "released",
                "source": "customs_receipt",
                "receipt_code": "800",
                "applied": True,
                "note": "放行 (released)",
                "at": "2026-12-03T10:16:00+08:00",
            },
        ],
        "cancellations": [],
    },
    "master_bill": None,
    "departure": examples.output_example("export_departure"),
}


class ExportTraceApi(APIView):
    @extend_schema(
        operation_id="export_parcels_trace",
        tags=["export lists"],
        summary="An export parcel from order to departure (by platform code and order number)",
        description=(
            "The order, payment receipt, waybill, arrival, export list (with every move and customs "
            "receipt), master bill and departure of one parcel, each as far as the caller may see it "
            "(null otherwise); 404 when it may see none. Further sections (the summary declaration) "
            "appear as the export side adds them."
        ),
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), **problems(404)},
        examples=[OpenApiExample("Departed", value=TRACE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, ebp_code: str, order_no: str) -> Response:
        answer = trace.export_parcel_trace(viewer=caller_enterprise(request), ebp_code=ebp_code, order_no=order_no)
        if answer is None:
            raise NotFoundError
        return Response(answer)
