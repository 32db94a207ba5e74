"""The settlement API: a payment company uploads its settlement file and reads the reports.

``POST /api/v1/finance/settlements`` takes CSV (a multipart ``file`` with the period as form
fields, or a ``text/csv`` body with the period in the query) or JSON; it answers the report.
Only enterprises holding the payment role upload; each reads only its own reports, and anyone
else's is 404, as for an id nobody holds.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiRequest, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import errors
from core.errors import Forbidden, InvalidInput, NotFoundError
from core.idempotency import idempotent
from core.openapi import problems
from core.pagination import CursorPagination
from core.parsers import JSONParser
from finance import settlements
from finance.models import MismatchKind, SettlementFormat, SettlementReport
from single_window.models import Enterprise, Role
from single_window.permissions import caller_enterprise

CSV_TYPE = "text/csv"
MULTIPART_TYPE = "multipart/form-data"


class CsvParser(BaseParser):
    """Hands the raw CSV bytes to the view; ``finance.settlements`` reads them."""

    media_type = CSV_TYPE

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> bytes:  # type: ignore[override]
        return stream.read() if stream is not None else b""


# --- Examples ---------------------------------------------------------------------------------------

CSV_EXAMPLE = (
    "pay_transaction_id,order_no,amount,currency,paid_at\n"
    "PAY20261125000001,SW20261125000001,445.13,142,20261125101530\n"
    "PAY20261125000002,SW20261125000002,62.50,502,20261125113002\n"
)

JSON_REQUEST_EXAMPLE = {
    "period_start": "2026-11-25",
    "period_end": "2026-11-25",
    "rows": [
        {
            "pay_transaction_id": "PAY20261125000001",
            "order_no": "SW20261125000001",
            "amount": "445.13",
            "currency": "142",
            "paid_at": "20261125101530",
        },
        {
            "pay_transaction_id": "PAY20261125000002",
            "order_no": "SW20261125000002",
            "amount": "62.50",
            "currency": "502",
            "paid_at": "20261125113002",
        },
    ],
}

MISMATCH_EXAMPLE = {
    "kind": "amount_differs",
    "line": 2,
    "first_line": None,
    "pay_transaction_id": "PAY20261125000002",
    "order_no": "SW20261125000002",
    "ebp_code": "3301960001",
    "ebc_code": "3301960002",
    "file_amount": "62.50",
    "file_currency": "502",
    "file_amount_cny": "445.19",
    "rate": "7.1230",
    "rate_date": "2026-11-25",
    "recorded_amount": "445.13",
    "recorded_currency": "142",
    "recorded_pay_time": "2026-11-25T11:30:02+08:00",
}

SUMMARY_EXAMPLE = {
    "id": 12,
    "period_start": "2026-11-25",
    "period_end": "2026-11-25",
    "format": "json",
    "created_at": "2026-11-26T09:00:12+08:00",
    "rows": 2,
    "payments": 3,
    "matched": 1,
    "mismatch_count": 2,
    "mismatches_by_kind": {"missing": 1, "amount_differs": 1, "duplicate": 0, "unknown": 0},
    "file": {
        "sha256": "9f2c3b6a0e51d4c1f8a7b2e3d4c5b6a79f2c3b6a0e51d4c1f8a7b2e3d4c5b6a7",
        "size": 412,
        "deleted_at": None,
    },
}

MISSING_EXAMPLE = {
    "kind": "missing",
    "line": None,
    "first_line": None,
    "pay_transaction_id": "PAY20261125000003",
    "order_no": "SW20261125000003",
    "ebp_code": "3301960001",
    "ebc_code": "3301960002",
    "file_amount": None,
    "file_currency": None,
    "file_amount_cny": None,
    "rate": None,
    "rate_date": None,
    "recorded_amount": "128.00",
    "recorded_currency": "142",
    "recorded_pay_time": "2026-11-25T15:02:41+08:00",
}

REPORT_EXAMPLE = {**SUMMARY_EXAMPLE, "mismatches": [MISMATCH_EXAMPLE, MISSING_EXAMPLE]}


# --- Serializers ------------------------------------------------------------------------------------


class JsonRowInput(serializers.Serializer[Any]):
    pay_transaction_id = serializers.CharField(max_length=60)
    order_no = serializers.CharField(max_length=60)
    amount = serializers.CharField(
        help_text="Decimal string, at least 0, at most 5 decimals; a JSON number is refused."
    )
    currency = serializers.CharField(help_text="Customs currency code: 142 CNY, 502 USD, 300 EUR...")
    paid_at = serializers.CharField(help_text="YYYYMMDDhhmmss (China Standard Time) or ISO 8601 with offset.")

    class Meta:
        ref_name = "SettlementRow"


class JsonUploadInput(serializers.Serializer[Any]):
    period_start = serializers.DateField(help_text="First day (China Standard Time) of the period.")
    period_end = serializers.DateField(
        help_text="Last day, included; at most 31 days after the first, not in the future."
    )
    rows = JsonRowInput(many=True, help_text="Up to 100,000 rows.")

    class Meta:
        ref_name = "SettlementUploadJson"


class MultipartUploadInput(serializers.Serializer[Any]):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    file = serializers.FileField(
        help_text="CSV, UTF-8, header pay_transaction_id,order_no,amount,currency,paid_at; at most 10 MiB."
    )

    class Meta:
        ref_name = "SettlementUploadMultipart"


class MismatchOutput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=MismatchKind.choices)
    line = serializers.IntegerField(
        allow_null=True, help_text="The CSV line, or the JSON row's position from 1; null for a missing payment."
    )
    first_line = serializers.IntegerField(
        allow_null=True, help_text="Where the transaction first appeared (duplicate)."
    )
    pay_transaction_id = serializers.CharField()
    order_no = serializers.CharField()
    ebp_code = serializers.CharField(allow_null=True, help_text="The order's platform; null for an unknown row.")
    ebc_code = serializers.CharField(allow_null=True)
    file_amount = serializers.CharField(allow_null=True)
    file_currency = serializers.CharField(allow_null=True)
    file_amount_cny = serializers.CharField(allow_null=True, help_text="The file's amount in CNY, at `rate`.")
    rate = serializers.CharField(allow_null=True, help_text="CNY per unit; 1 for a row in CNY.")
    rate_date = serializers.DateField(allow_null=True, help_text="The day of the rate used.")
    recorded_amount = serializers.CharField(allow_null=True, help_text="The payment's amount_paid.")
    recorded_currency = serializers.CharField(allow_null=True)
    recorded_pay_time = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "SettlementMismatch"


class KindCountsOutput(serializers.Serializer[Any]):
    missing = serializers.IntegerField()
    amount_differs = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    unknown = serializers.IntegerField()

    class Meta:
        ref_name = "SettlementMismatchCounts"


class FileOutput(serializers.Serializer[Any]):
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    deleted_at = serializers.DateTimeField(
        allow_null=True, help_text="When the file was deleted after its retention period; the report stays."
    )

    class Meta:
        ref_name = "SettlementFile"


class SummaryOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    format = serializers.ChoiceField(choices=SettlementFormat.choices)
    created_at = serializers.DateTimeField()
    rows = serializers.IntegerField(help_text="Rows in the file.")
    payments = serializers.IntegerField(help_text="The uploader's payments in the period.")
    matched = serializers.IntegerField(help_text="Rows that matched a payment, amount included.")
    mismatch_count = serializers.IntegerField()
    mismatches_by_kind = KindCountsOutput()
    file = FileOutput()

    class Meta:
        ref_name = "SettlementReportSummary"


class ReportOutput(SummaryOutput):
    mismatches = MismatchOutput(many=True, help_text="In file order, then the missing payments by pay time.")

    class Meta:
        ref_name = "SettlementReport"


class PageOutput(serializers.Serializer[Any]):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = SummaryOutput(many=True)

    class Meta:
        ref_name = "SettlementReportPage"


def _summary(report: SettlementReport, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": report.pk,
        "period_start": report.period_start,
        "period_end": report.period_end,
        "format": report.file_format,
        "created_at": report.created_at,
        "rows": report.row_count,
        "payments": report.payment_count,
        "matched": report.matched_count,
        "mismatch_count": report.mismatch_count,
        "mismatches_by_kind": counts,
        "file": {"sha256": report.file_sha256, "size": report.file_size, "deleted_at": report.file_deleted_at},
    }


def report_data(report: SettlementReport) -> dict[str, Any]:
    mismatches = list(report.mismatches.all())
    return {
        **_summary(report, settlements.kind_counts(mismatches)),
        "mismatches": [settlements.mismatch_data(m) for m in mismatches],
    }


def _with_counts(reports: QuerySet[SettlementReport]) -> QuerySet[SettlementReport]:
    return reports.annotate(
        **{f"n_{kind}": Count("mismatches", filter=Q(mismatches__kind=kind)) for kind in MismatchKind.values}
    )


# --- Views ------------------------------------------------------------------------------------------


def _uploader(request: Request) -> Enterprise:
    enterprise = caller_enterprise(request)
    if not enterprise.has_role(Role.PAY):
        raise Forbidden(_("Only a payment enterprise uploads settlement files."), code=errors.ROLE_REQUIRED)
    return enterprise


def _read_upload(request: Request) -> settlements.SettlementUpload:
    media_type = request.content_type.split(";")[0].strip().lower()
    if media_type == MULTIPART_TYPE:
        data: Any = request.data
        upload = data.get("file")
        if not isinstance(upload, UploadedFile):
            raise InvalidInput.for_field("file", errors.REQUIRED, _("Attach the settlement file as `file`."))
        if (upload.size or 0) > settlements.MAX_FILE_BYTES:
            raise settlements.ContentTooLarge
        return settlements.settlement_read_csv(content=upload.read(), period=data)
    # The bytes as they came, read before the parser reads the stream (then it reads these).
    content = request.body
    if media_type == CSV_TYPE:
        return settlements.settlement_read_csv(content=content, period=request.query_params)
    return settlements.settlement_read_json(data=request.data, content=content)


class ReportCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


class SettlementCollectionApi(APIView):
    parser_classes = (JSONParser, MultiPartParser, CsvParser)

    @extend_schema(
        operation_id="finance_settlements_create",
        tags=["finance"],
        summary="Upload a settlement file and reconcile it",
        description=(
            "For payment enterprises (role `pay`; anyone else 403 `role_required`). The rows are "
            "compared with the uploader's own declared payments paid in the period (China "
            "Standard Time days) and the report lists each mismatch: `missing` (a payment of "
            "the period the file does not name), `amount_differs` (a row in another currency is "
            "converted to CNY at the stored rate of the day it was paid, the rate and its date "
            "shown), `duplicate` (the same transaction again) and `unknown` (the row names no "
            "payment of the uploader: whether it exists elsewhere is never said).\n\n"
            "Three ways to send it: JSON (below); `multipart/form-data` with the CSV as `file` "
            "and `period_start`, `period_end` as fields; or a `text/csv` body with "
            "`?period_start=...&period_end=...`. CSV problems name the file's line "
            "(`lines[7].amount`), JSON ones the row (`rows[6].amount`). One bad row refuses the "
            "file and nothing is stored: a currency without a rate of the day or the "
            "`FINANCE_RATE_MAX_AGE_DAYS` before it is `exchange_rate_missing`. The file is kept "
            "encrypted for `FINANCE_SETTLEMENT_RETENTION_DAYS`, the report for good. The "
            "uploader, and the platform and e-commerce enterprise of each order with a "
            "mismatch, are told by the event `finance.settlement_reconciled`."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            ),
            OpenApiParameter("period_start", str, description="With a text/csv body: the period's first day."),
            OpenApiParameter("period_end", str, description="With a text/csv body: the period's last day."),
        ],
        request={
            "application/json": OpenApiRequest(JsonUploadInput),
            MULTIPART_TYPE: OpenApiRequest(
                MultipartUploadInput,
                examples=[
                    OpenApiExample(
                        "A CSV file",
                        value={"period_start": "2026-11-25", "period_end": "2026-11-25", "file": CSV_EXAMPLE},
                        request_only=True,
                    )
                ],
            ),
            CSV_TYPE: OpenApiRequest(
                {"type": "string"}, examples=[OpenApiExample("CSV", value=CSV_EXAMPLE, request_only=True)]
            ),
        },
        responses={201: ReportOutput, **problems(400, 409, 413, 415, 422)},
        examples=[
            OpenApiExample("One day of settlements", value=JSON_REQUEST_EXAMPLE, request_only=True),
            OpenApiExample("Reconciled", value=REPORT_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        uploader = _uploader(request)
        upload = _read_upload(request)
        report = settlements.settlement_reconcile(uploader=uploader, upload=upload, actor=request.user.actor)  # type: ignore[union-attr]
        report = settlements.settlement_report_get(enterprise=uploader, report_id=report.pk) or report
        return Response(ReportOutput(report_data(report)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="finance_settlements_list",
        tags=["finance"],
        summary="The caller's settlement reports, newest first",
        description="Only the reports of files the caller uploaded; without their mismatches (see one report).",
        parameters=[
            OpenApiParameter("cursor", str, description="The cursor from `next` or `previous`."),
            OpenApiParameter("page_size", int, description="Up to 500; 50 by default."),
        ],
        responses={200: PageOutput, **problems(404)},
        examples=[
            OpenApiExample(
                "A page", value={"next": None, "previous": None, "results": [SUMMARY_EXAMPLE]}, response_only=True
            )
        ],
    )
    def get(self, request: Request) -> Response:
        reports = _with_counts(settlements.settlement_reports_of(enterprise=caller_enterprise(request)))
        paginator = ReportCursorPagination()
        page = paginator.paginate_queryset(reports, request, view=self) or []
        results = [
            _summary(report, {kind: getattr(report, f"n_{kind}") for kind in MismatchKind.values}) for report in page
        ]
        return Response(
            PageOutput(
                {"next": paginator.get_next_link(), "previous": paginator.get_previous_link(), "results": results}
            ).data
        )


class SettlementDetailApi(APIView):
    @extend_schema(
        operation_id="finance_settlements_retrieve",
        tags=["finance"],
        summary="One settlement report, with its mismatches",
        description="The uploader's own; anyone else gets 404, as for an id nobody holds.",
        responses={200: ReportOutput, **problems(404)},
        examples=[OpenApiExample("Report", value=REPORT_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, report_id: int) -> Response:
        report = settlements.settlement_report_get(enterprise=caller_enterprise(request), report_id=report_id)
        if report is None:
            raise NotFoundError
        return Response(ReportOutput(report_data(report)).data)
