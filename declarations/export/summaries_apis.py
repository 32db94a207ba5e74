"""Summary declarations over REST (``/api/v1/export/summaries``): a consignor asks for the
summaries of a period, and reads its summaries with their goods lines and the lists behind them."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError
from core.idempotency import idempotent
from core.openapi import problems
from core.pagination import CursorPagination
from core.parsers import JSONParser
from declarations.export import summaries, summaries_selectors
from declarations.export import summaries_build as build
from declarations.export import summaries_codes as codes
from declarations.intake.amounts import amount_text
from declarations.intake.outputs import ChinaTime
from declarations.models.export_summary import ExportSummary
from single_window.permissions import caller_enterprise

MAX_PERIOD_DAYS = 366

SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "cop_no": "SUM202612013F2A9C1B4E7D",
    "guid": "3F2A9C1B-4E7D-4C55-9B44-2F1D0E7A9C10",
    "status": "declared",
    "period_start": "2026-11-01",
    "period_end": "2026-11-30",
    "customs_code": "2901",
    "ebc_code": "3301960002",
    "ebc_name": "示例跨境电商有限公司",
    "owner_code": "",
    "owner_name": "",
    "agent_code": "3301960001",
    "agent_name": "示例报关有限公司",
    "summary_flag": "1",
    "item_name_flag": "1",
    "list_count": 2,
    "msg_count": 1,
    "gross_weight": "2.5",
    "net_weight": "2",
    "send_note": "",
    "sum_no": "29012026S000000001",
    "return_status": "120",
    "return_info": "海关入库",
    "decl_seq_no": "29012026D000000002",
    "entry_id": "290120260000000002",
    "dec_state": "P",
    "created_at": "2026-12-01T01:10:02+08:00",
    "answered_at": "2026-12-01T01:10:05+08:00",
    "result_at": "2026-12-01T01:10:07+08:00",
    "lines": [
        {
            "line_no": 1,
            "code": "6109100010",
            "name": "棉T恤",
            "currency": "502",
            "unit": "007",
            "qty": "5.5",
            "total_price": "49.91",
            "list_count": 2,
            "item_count": 2,
        }
    ],
    "lists": [
        {"export_list_id": 81, "invt_no": "29012026E000000081", "msg_seq_no": 1},
        {"export_list_id": 82, "invt_no": "29012026E000000082", "msg_seq_no": 1},
    ],
    "messages": [
        {"msg_seq_no": 1, "list_count": 2, "return_status": "120", "answered_at": "2026-12-01T01:10:05+08:00"}
    ],
}
DESCRIPTION = """A consignor (the e-commerce enterprise, 收发货人, of its export lists) gathers its lists of a
period into summary declarations (汇总申报, CEB701; message specification section 2.21).

Taken are its lists that customs released (`released`), declared for summary declaration
(`statistics_flag` B), with an export date (`ie_date`) in the period and in no summary yet. They
are grouped by declaring customs, declaring agent and consignor (`summary_flag` 1), or consignor
and producer (`summary_flag` 2, the lists' `owner_code`); each group is one summary whose goods
lines add up the lists' lines by goods code and enterprise goods name (`item_name_flag` true)
or by 4-digit category (false), per currency and unit, exactly. Each list goes into one summary
only (`summarised`).

A summary of more lists than `EXPORT_SUMMARY_MAX_LISTS` goes in several CEB701 messages
(`msg_count`, each message's `msg_seq_no`), each signed for the declaring agent. A summary that
can't leave (no signing key of the agent, no customs partner) is `send_failed` with `send_note`.
Customs answers each message with a CEB702: every message taken → `accepted` with customs'
summary number (`sum_no`); refused → `refused` and its lists may be summarised again. The
CEB792 result gives the customs declaration (`decl_seq_no`, `entry_id`, `dec_state`) →
`declared`. Events: `export.summary_accepted`, `export.summary_refused`, `export.summary_result`.

Asking again for a period already summarised assembles nothing new: the answer is 200 with the
summaries made before. The previous month is also summarised by itself on the 1st."""


class SummaryLineOutput(serializers.Serializer[Any]):
    line_no = serializers.IntegerField()
    code = serializers.CharField(help_text="10-digit goods code, or the 4-digit category.")
    name = serializers.CharField(allow_blank=True, help_text="Enterprise goods name; empty by category.")
    currency = serializers.CharField()
    unit = serializers.CharField()
    qty = serializers.SerializerMethodField(help_text="Sum of the lists' quantities, a decimal string.")
    total_price = serializers.SerializerMethodField(help_text="Sum of the lists' total prices, a decimal string.")
    list_count = serializers.IntegerField()
    item_count = serializers.IntegerField()

    class Meta:
        ref_name = "ExportSummaryLine"

    def get_qty(self, line: Any) -> str:
        return amount_text(line.qty, None)

    def get_total_price(self, line: Any) -> str:
        return amount_text(line.total_price, None)


class SummaryListOutput(serializers.Serializer[Any]):
    export_list_id = serializers.IntegerField()
    invt_no = serializers.CharField()
    msg_seq_no = serializers.IntegerField(help_text="The CEB701 message that carries it.")

    class Meta:
        ref_name = "ExportSummaryListRef"


class SummaryMessageOutput(serializers.Serializer[Any]):
    msg_seq_no = serializers.IntegerField()
    list_count = serializers.IntegerField()
    return_status = serializers.CharField(allow_blank=True, help_text="Customs' CEB702 returnStatus for it.")
    answered_at = ChinaTime(allow_null=True)

    class Meta:
        ref_name = "ExportSummaryMessage"


class SummaryOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    cop_no = serializers.CharField()
    guid = serializers.CharField()
    status = serializers.ChoiceField(choices=ExportSummary.Status.choices)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    customs_code = serializers.CharField()
    ebc_code = serializers.CharField()
    ebc_name = serializers.CharField()
    owner_code = serializers.CharField(allow_blank=True)
    owner_name = serializers.CharField(allow_blank=True)
    agent_code = serializers.CharField()
    agent_name = serializers.CharField()
    summary_flag = serializers.CharField()
    item_name_flag = serializers.CharField()
    list_count = serializers.IntegerField()
    msg_count = serializers.IntegerField()
    gross_weight = serializers.SerializerMethodField()
    net_weight = serializers.SerializerMethodField()
    send_note = serializers.CharField(allow_blank=True)
    sum_no = serializers.CharField(allow_blank=True, help_text="Customs' summary number (CEB702).")
    return_status = serializers.CharField(allow_blank=True)
    return_info = serializers.CharField(allow_blank=True)
    decl_seq_no = serializers.CharField(allow_blank=True, help_text="CEB792 declSeqNo.")
    entry_id = serializers.CharField(allow_blank=True, help_text="CEB792 entryId, the customs declaration.")
    dec_state = serializers.CharField(allow_blank=True)
    created_at = ChinaTime()
    answered_at = ChinaTime(allow_null=True)
    result_at = ChinaTime(allow_null=True)
    lines = SummaryLineOutput(many=True, source="lines.all")
    lists = SummaryListOutput(many=True, source="lists.all")
    messages = SummaryMessageOutput(many=True, source="messages.all")

    class Meta:
        ref_name = "ExportSummary"

    def get_gross_weight(self, summary: Any) -> str:
        return amount_text(summary.gross_weight, None)

    def get_net_weight(self, summary: Any) -> str:
        return amount_text(summary.net_weight, None)


class SummaryAssembleOutput(serializers.Serializer[Any]):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    created = serializers.IntegerField(help_text="Summaries made by this request.")
    summaries = SummaryOutput(many=True, help_text="The period's summaries, new and earlier.")

    class Meta:
        ref_name = "ExportSummaryAssembly"


class SummaryPage(serializers.Serializer[Any]):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = SummaryOutput(many=True)

    class Meta:
        ref_name = "ExportSummaryPage"


class SummaryPagination(CursorPagination):
    ordering = ("-id",)
    page_size = 20
    max_page_size = 100
    page_size_query_param = "page_size"


class SummaryCollectionApi(APIView):
    parser_classes = (JSONParser,)

    class InputSerializer(serializers.Serializer[Any]):
        month = serializers.RegexField(
            r"^[0-9]{4}-(0[1-9]|1[0-2])$", required=False, help_text="YYYY-MM; or period_start and period_end."
        )
        period_start = serializers.DateField(required=False)
        period_end = serializers.DateField(required=False)
        summary_flag = serializers.ChoiceField(
            choices=[("1", "by consignor"), ("2", "by consignor and producer")], required=False
        )
        item_name_flag = serializers.BooleanField(
            required=False, allow_null=True, default=None, help_text="True: by goods name; false: by 4-digit category."
        )

        class Meta:
            ref_name = "ExportSummaryInput"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs.get("month"):
                year, month = (int(part) for part in attrs["month"].split("-"))
                attrs["period_start"], attrs["period_end"] = summaries.month_period(year, month)
            start, end = attrs.get("period_start"), attrs.get("period_end")
            if start is None or end is None:
                raise serializers.ValidationError(
                    {"month": _("Give the month, or period_start and period_end.")}, code=codes.SUMMARY_PERIOD_INVALID
                )
            if end < start or end - start > datetime.timedelta(days=MAX_PERIOD_DAYS):
                raise serializers.ValidationError(
                    {"period_end": _("The period ends before it starts, or is longer than a year.")},
                    code=codes.SUMMARY_PERIOD_INVALID,
                )
            return attrs

    @extend_schema(
        operation_id="export_summaries_assemble",
        tags=["export summaries"],
        summary="Assemble and send your summary declarations of a period (CEB701)",
        description=DESCRIPTION,
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        responses={
            201: OpenApiResponse(SummaryAssembleOutput, description="Summaries made and handed to the gateway."),
            200: OpenApiResponse(
                SummaryAssembleOutput, description="Nothing new to summarise: the period's summaries."
            ),
            **problems(400, 409, 415, 422),
        },
        examples=[
            OpenApiExample("A month", value={"month": "2026-11"}, request_only=True),
            OpenApiExample(
                "By producer and category",
                value={
                    "period_start": "2026-11-01",
                    "period_end": "2026-11-15",
                    "summary_flag": "2",
                    "item_name_flag": False,
                },
                request_only=True,
            ),
            OpenApiExample(
                "Made",
                value={
                    "period_start": "2026-11-01",
                    "period_end": "2026-11-30",
                    "created": 1,
                    "summaries": [SUMMARY_EXAMPLE],
                },
                response_only=True,
                status_codes=["201", "200"],
            ),
        ],
    )
    @idempotent
    def post(self, request: Request) -> HttpResponse:
        enterprise = caller_enterprise(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        default = summaries.default_grouping()
        flag = values.get("item_name_flag")
        grouping = build.Grouping(
            summary_flag=build.SummaryFlag(values.get("summary_flag") or default.summary_flag.value),
            by_item_name=default.by_item_name if flag is None else bool(flag),
        )
        result = summaries.summaries_assemble(
            enterprise=enterprise,
            period_start=values["period_start"],
            period_end=values["period_end"],
            grouping=grouping,
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        found = [
            summaries_selectors.summary_for(enterprise=enterprise, summary_id=summary.pk)
            for summary in [*result.created, *result.existing]
        ]
        answer = SummaryAssembleOutput(
            {
                "period_start": values["period_start"],
                "period_end": values["period_end"],
                "created": len(result.created),
                "summaries": sorted((s for s in found if s is not None), key=lambda s: s.pk),
            }
        )
        return Response(answer.data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="export_summaries_list",
        tags=["export summaries"],
        summary="Your summary declarations, newest first",
        description="As consignor or as the declaring agent that signed them; nobody else's.",
        responses={200: SummaryPage},
        examples=[
            OpenApiExample(
                "One page", value={"next": None, "previous": None, "results": [SUMMARY_EXAMPLE]}, response_only=True
            )
        ],
    )
    def get(self, request: Request) -> Response:
        queryset = summaries_selectors.summaries_visible_to(enterprise=caller_enterprise(request)).prefetch_related(
            "lines", "lists", "messages"
        )
        paginator = SummaryPagination()
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        answer = SummaryPage(
            {"next": paginator.get_next_link(), "previous": paginator.get_previous_link(), "results": page}
        )
        return Response(answer.data)


class SummaryDetailApi(APIView):
    @extend_schema(
        operation_id="export_summaries_read",
        tags=["export summaries"],
        summary="A summary declaration with its goods lines, lists and customs' answers",
        description="As consignor or declaring agent; anyone else is answered 404.",
        responses={200: SummaryOutput, **problems(404)},
        examples=[OpenApiExample("Declared", value=SUMMARY_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, summary_id: int) -> Response:
        summary = summaries_selectors.summary_for(enterprise=caller_enterprise(request), summary_id=summary_id)
        if summary is None:
            raise NotFoundError
        return Response(SummaryOutput(summary).data)
