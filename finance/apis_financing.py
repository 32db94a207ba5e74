"""The trade financing API: an enterprise applies to a financial institution, the institution
reads the application (with the applicant's record while its ``trade_financing`` consent is in
force) and decides; the applicant may withdraw while the application is submitted.

An application exists for its applicant and its institution only: anyone else gets 404, as for
an id nobody used.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import errors
from core.errors import InvalidInput, NotFoundError
from core.idempotency import idempotent
from core.openapi import problems
from core.pagination import CursorPagination
from finance import financing, selectors
from finance.models import FinancingApplication, FinancingState
from finance.models.financing import LONGEST_TERM_MONTHS
from single_window import selectors as registry
from single_window.permissions import caller_enterprise

NO_CONSENT = "no trade_financing consent in force"
NOT_THE_INSTITUTION = "the record is shown to the institution only"

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
)


class MoneyString(serializers.DecimalField):
    """CNY with at most two decimals, carried as a string: a JSON number is refused so no float
    rounds it."""

    default_error_messages = {"not_a_string": _('Send amounts as decimal strings, for example "12.50".')}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=17, decimal_places=2, min_value=Decimal("0.01"), **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not data.isascii():
            self.fail("not_a_string")
        return super().to_internal_value(data.strip())


class RateString(serializers.DecimalField):
    """An annual rate as a decimal string: ``"0.0435"`` is 4.35%, at least 0 and below 1."""

    default_error_messages = {"not_a_string": _('Send the rate as a decimal string, for example "0.0435".')}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=6, decimal_places=5, min_value=Decimal(0), max_value=Decimal("0.99999"), **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not data.isascii():
            self.fail("not_a_string")
        return super().to_internal_value(data.strip())


# --- Output ----------------------------------------------------------------------------------------


class PartyOutput(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "FinancingParty"


class DecisionOutput(serializers.Serializer[Any]):
    approved_amount = serializers.DecimalField(max_digits=19, decimal_places=2, allow_null=True)
    annual_rate = serializers.DecimalField(max_digits=6, decimal_places=5, allow_null=True)
    reason = serializers.CharField(help_text="The reason of a rejection; empty for an approval.")
    decided_at = serializers.DateTimeField()

    class Meta:
        ref_name = "FinancingDecision"


class ApplicationOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    applicant = PartyOutput()
    institution = PartyOutput()
    amount = serializers.DecimalField(max_digits=19, decimal_places=2, help_text="Asked for, CNY.")
    term_months = serializers.IntegerField()
    purpose = serializers.CharField()
    state = serializers.ChoiceField(choices=FinancingState.choices)
    decision = DecisionOutput(allow_null=True, help_text="Null until the institution decides.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "FinancingApplication"


class CreditSummaryOutput(serializers.Serializer[Any]):
    customs_class = serializers.CharField(help_text="Customs' class (credit).")
    score = serializers.IntegerField(allow_null=True, help_text="0 to 1000; null until first computed.")
    grade = serializers.CharField(
        allow_null=True, help_text="The grade in force (a regulator's override, else computed)."
    )
    computed_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "FinancingCreditSummary"


class MonthOutput(serializers.Serializer[Any]):
    month = serializers.CharField(help_text="YYYY-MM, China Standard Time.")
    dutiable_value = serializers.DecimalField(
        max_digits=19, decimal_places=2, help_text="Dutiable value of the month's tax bills not voided, CNY."
    )
    bills = serializers.IntegerField(help_text="Tax bills customs issued in the month, not voided.")
    tax = serializers.DecimalField(max_digits=19, decimal_places=2, help_text="Their tax, CNY.")
    lists_released = serializers.IntegerField(help_text="Lists released (credit's counts).")
    lists_returned = serializers.IntegerField(help_text="Lists returned after release (credit's counts).")

    class Meta:
        ref_name = "FinancingTradeMonth"


class TradeOutput(serializers.Serializer[Any]):
    since = serializers.DateField(help_text="The first day of the twelve months.")
    months = MonthOutput(many=True)
    lists_released = serializers.IntegerField()
    lists_returned = serializers.IntegerField()
    return_rate = serializers.DecimalField(
        max_digits=9, decimal_places=4, allow_null=True, help_text="Returned / released; null when none released."
    )
    tax_paid = serializers.DecimalField(max_digits=19, decimal_places=2, help_text="Tax of the bills not voided.")

    class Meta:
        ref_name = "FinancingTradeFigures"


class RecordConsentOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()

    class Meta:
        ref_name = "FinancingRecordConsent"


class RecordOutput(serializers.Serializer[Any]):
    consent = RecordConsentOutput()
    credit = CreditSummaryOutput()
    trade = TradeOutput()

    class Meta:
        ref_name = "FinancingRecord"


class RecordReadOutput(serializers.Serializer[Any]):
    read_at = serializers.DateTimeField()
    consent_id = serializers.IntegerField()

    class Meta:
        ref_name = "FinancingRecordRead"


class ApplicationDetailOutput(ApplicationOutput):
    record = RecordOutput(
        allow_null=True,
        help_text="For the institution, while the applicant's trade_financing consent to it is in force; else null.",
    )
    record_reason = serializers.CharField(allow_null=True, help_text="Why the record is null.")
    record_reads = RecordReadOutput(
        many=True, help_text="The institution's reads of the record with this application, newest first (up to 50)."
    )

    class Meta:
        ref_name = "FinancingApplicationDetail"


class ApplicationPageOutput(serializers.Serializer[Any]):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ApplicationOutput(many=True)

    class Meta:
        ref_name = "FinancingApplicationPage"


def application_data(application: FinancingApplication) -> dict[str, Any]:
    decided = application.decided_at is not None
    return {
        "id": application.pk,
        "applicant": {"code": application.applicant.code, "name": application.applicant.name},
        "institution": {"code": application.institution.code, "name": application.institution.name},
        "amount": application.amount,
        "term_months": application.term_months,
        "purpose": application.purpose,
        "state": application.state,
        "decision": (
            {
                "approved_amount": application.approved_amount,
                "annual_rate": application.annual_rate,
                "reason": application.decision_reason,
                "decided_at": application.decided_at,
            }
            if decided
            else None
        ),
        "created_at": application.created_at,
        "updated_at": application.updated_at,
    }


def record_data(record: financing.ApplicantRecord) -> dict[str, Any]:
    trade = record.trade
    return {
        "consent": {"id": record.consent_id, "expires_at": record.consent_expires_at},
        "credit": {
            "customs_class": record.credit.customs_class,
            "score": record.credit.score,
            "grade": record.credit.grade,
            "computed_at": record.credit.computed_at,
        },
        "trade": {
            "since": trade.since,
            "months": [
                {
                    "month": month.month,
                    "dutiable_value": month.dutiable_value,
                    "bills": month.bills,
                    "tax": month.tax,
                    "lists_released": month.lists_released,
                    "lists_returned": month.lists_returned,
                }
                for month in trade.months
            ],
            "lists_released": trade.lists_released,
            "lists_returned": trade.lists_returned,
            "return_rate": trade.return_rate,
            "tax_paid": trade.tax_paid,
        },
    }


# --- Examples ---------------------------------------------------------------------------------------

APPLICATION_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "applicant": {"code": "3301960002", "name": "杭州示例跨境电商有限公司"},
    "institution": {"code": "3301990001", "name": "杭州示例银行股份有限公司"},
    "amount": "500000.00",
    "term_months": 12,
    "purpose": "Stock for the spring season",
    "state": "submitted",
    "decision": None,
    "created_at": "2026-11-25T10:02:11+08:00",
    "updated_at": "2026-11-25T10:02:11+08:00",
}
APPROVED_EXAMPLE: dict[str, Any] = {
    **APPLICATION_EXAMPLE,
    "state": "approved",
    "decision": {
        "approved_amount": "400000.00",
        "annual_rate": "0.04350",
        "reason": "",
        "decided_at": "2026-11-26T15:30:00+08:00",
    },
    "updated_at": "2026-11-26T15:30:00+08:00",
}
_MONTHS = ["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]
RECORD_EXAMPLE: dict[str, Any] = {
    "consent": {"id": 18, "expires_at": "2027-05-25T00:00:00+08:00"},
    "credit": {"customs_class": "certified", "score": 812, "grade": "A", "computed_at": "2026-11-25T01:30:04+08:00"},
    "trade": {
        "since": "2025-12-01",
        "months": [
            {
                "month": month,
                "dutiable_value": "182340.50",
                "bills": 1210,
                "tax": "16591.00",
                "lists_released": 1215,
                "lists_returned": 14,
            }
            for month in _MONTHS
        ],
        "lists_released": 14580,
        "lists_returned": 168,
        "return_rate": "0.0115",
        "tax_paid": "199092.00",
    },
}
DETAIL_EXAMPLE: dict[str, Any] = {
    **APPLICATION_EXAMPLE,
    "record": RECORD_EXAMPLE,
    "record_reason": None,
    "record_reads": [{"read_at": "2026-11-25T11:40:27+08:00", "consent_id": 18}],
}
DETAIL_NO_CONSENT_EXAMPLE: dict[str, Any] = {
    **APPLICATION_EXAMPLE,
    "record": None,
    "record_reason": NO_CONSENT,
    "record_reads": [],
}


# --- Views ------------------------------------------------------------------------------------------


class ApplicationCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


class ApplicationListApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        institution = serializers.CharField(max_length=18, help_text="Customs code or USCC of a financial institution.")
        amount = MoneyString(help_text="CNY, a decimal string.")
        term_months = serializers.IntegerField(min_value=1, max_value=LONGEST_TERM_MONTHS)
        purpose = serializers.CharField(max_length=1000)

        class Meta:
            ref_name = "FinancingApplicationCreate"

    @extend_schema(
        operation_id="finance_applications_list",
        tags=["finance"],
        summary="Financing applications you made, or that are addressed to you",
        description=(
            "An applicant sees its own applications; a financial institution those addressed to "
            "it. Newest first, by cursor."
        ),
        parameters=[
            OpenApiParameter("cursor", str, description="The cursor from `next` or `previous`."),
            OpenApiParameter("page_size", int, description="Up to 500; 50 by default."),
        ],
        responses={200: ApplicationPageOutput, **problems(404)},
        examples=[
            OpenApiExample(
                "A page",
                value={"next": None, "previous": None, "results": [APPROVED_EXAMPLE, APPLICATION_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        applications = selectors.applications_of(enterprise=caller_enterprise(request))
        paginator = ApplicationCursorPagination()
        page = paginator.paginate_queryset(applications, request, view=self) or []
        return Response(
            ApplicationPageOutput(
                {
                    "next": paginator.get_next_link(),
                    "previous": paginator.get_previous_link(),
                    "results": [application_data(application) for application in page],
                }
            ).data
        )

    @extend_schema(
        operation_id="finance_applications_create",
        tags=["finance"],
        summary="Apply to a financial institution for trade financing",
        description=(
            "The institution must hold the financial institution role "
            "(`finance_institution_not_finance`) and not be the applicant "
            "(`finance_application_to_self`); a code nobody registered is `unknown_enterprise`. "
            "The institution hears `finance.application_submitted`. It reads your record with the "
            "application only while your `trade_financing` consent to it is in force "
            "(`POST /api/v1/credit/consents`)."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: ApplicationOutput, **problems(400, 409, 415, 422)},
        examples=[
            OpenApiExample(
                "Half a million for a year",
                value={
                    "institution": "3301990001",
                    "amount": "500000.00",
                    "term_months": 12,
                    "purpose": "Stock for the spring season",
                },
                request_only=True,
            ),
            OpenApiExample("Submitted", value=APPLICATION_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        institution = registry.enterprise_get_by_code(code=data.validated_data["institution"])
        if institution is None:
            raise InvalidInput.for_field(
                "institution", errors.UNKNOWN_ENTERPRISE, _("No enterprise is registered under this code.")
            )
        application = financing.application_submit(
            applicant=caller_enterprise(request),
            institution=institution,
            amount=data.validated_data["amount"],
            term_months=data.validated_data["term_months"],
            purpose=data.validated_data["purpose"],
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(ApplicationOutput(application_data(application)).data, status=status.HTTP_201_CREATED)


def _visible(request: Request, application_id: int) -> FinancingApplication:
    application = selectors.application_of(enterprise=caller_enterprise(request), application_id=application_id)
    if application is None:
        raise NotFoundError
    return application


class ApplicationDetailApi(APIView):
    @extend_schema(
        operation_id="finance_applications_retrieve",
        tags=["finance"],
        summary="A financing application, with the applicant's record for the institution",
        description=(
            "For the applicant and the institution addressed; anyone else gets 404. The "
            "institution also reads the applicant's record (credit summary, and the last twelve "
            "months' dutiable value, bills, tax, lists released and returned, return rate and tax "
            "paid) while the applicant's `trade_financing` consent to it is in force, checked at "
            "every read; each such read is logged, and both parties see the log (`record_reads`). "
            "Without it, `record` is null and `record_reason` says why."
        ),
        responses={200: ApplicationDetailOutput, **problems(404)},
        examples=[
            OpenApiExample("With the record (institution, consent in force)", value=DETAIL_EXAMPLE, response_only=True),
            OpenApiExample("Without a consent", value=DETAIL_NO_CONSENT_EXAMPLE, response_only=True),
        ],
    )
    def get(self, request: Request, application_id: int) -> Response:
        enterprise = caller_enterprise(request)
        application = _visible(request, application_id)
        record = financing.application_record_read(application=application, institution=enterprise)
        if record is not None:
            reason = None
        elif application.institution_id == enterprise.pk:
            reason = NO_CONSENT
        else:
            reason = NOT_THE_INSTITUTION
        data = {
            **application_data(application),
            "record": record_data(record) if record is not None else None,
            "record_reason": reason,
            "record_reads": [
                {"read_at": read.read_at, "consent_id": read.consent_id}
                for read in selectors.record_reads_of(application=application)
            ],
        }
        return Response(ApplicationDetailOutput(data).data)


class ApplicationDecisionApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        decision = serializers.ChoiceField(choices=[financing.APPROVE, financing.REJECT])
        amount = MoneyString(required=False, help_text="Approve: the amount granted, at most the amount asked.")
        annual_rate = RateString(required=False, help_text='Approve: "0.0435" is 4.35% a year.')
        reason = serializers.CharField(required=False, max_length=500, help_text="Reject: why.")

        class Meta:
            ref_name = "FinancingDecisionCreate"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            needed = ("amount", "annual_rate") if attrs["decision"] == financing.APPROVE else ("reason",)
            missing = {
                name: [serializers.ErrorDetail(str(_("Required for this decision.")), code=errors.REQUIRED)]
                for name in needed
                if name not in attrs
            }
            if missing:
                raise serializers.ValidationError(missing)
            return attrs

    @extend_schema(
        operation_id="finance_applications_decide",
        tags=["finance"],
        summary="Approve or reject a financing application",
        description=(
            "By the institution addressed only (anyone else: 404), while the application is "
            "submitted (else 409 `finance_application_not_submitted`). Approve with `amount` (at "
            "most the amount asked: `finance_approved_amount_above_request`) and `annual_rate`; "
            "reject with `reason`. The applicant hears `finance.application_decided`."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={200: ApplicationOutput, **problems(400, 404, 409, 415, 422)},
        examples=[
            OpenApiExample(
                "Approve",
                value={"decision": "approve", "amount": "400000.00", "annual_rate": "0.0435"},
                request_only=True,
            ),
            OpenApiExample(
                "Reject", value={"decision": "reject", "reason": "Trade history too short"}, request_only=True
            ),
            OpenApiExample("Approved", value=APPROVED_EXAMPLE, response_only=True),
        ],
    )
    @idempotent
    def post(self, request: Request, application_id: int) -> Response:
        application = _visible(request, application_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = financing.application_decide(
            application=application,
            institution=caller_enterprise(request),
            decision=data.validated_data["decision"],
            amount=data.validated_data.get("amount"),
            annual_rate=data.validated_data.get("annual_rate"),
            reason=data.validated_data.get("reason", ""),
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(ApplicationOutput(application_data(decided)).data)


class ApplicationWithdrawApi(APIView):
    @extend_schema(
        operation_id="finance_applications_withdraw",
        tags=["finance"],
        summary="Withdraw your financing application",
        description=(
            "By the applicant only (anyone else: 404), while the application is submitted (else "
            "409 `finance_application_not_submitted`). The institution hears "
            "`finance.application_withdrawn`."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={200: ApplicationOutput, **problems(404, 409, 422)},
        examples=[OpenApiExample("Withdrawn", value={**APPLICATION_EXAMPLE, "state": "withdrawn"}, response_only=True)],
    )
    @idempotent
    def post(self, request: Request, application_id: int) -> Response:
        application = _visible(request, application_id)
        withdrawn = financing.application_withdraw(
            application=application,
            applicant=caller_enterprise(request),
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(ApplicationOutput(application_data(withdrawn)).data)
