"""The credit API: an enterprise's credit report, its consents to financial institutions, and
who read its report.

The report is the enterprise's own, a regulator's covering it, or a financial institution's
holding the enterprise's consent in force; to anyone else it does not exist (404).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import get_language
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
from credit import scoring, selectors, services
from credit.models import (
    ClassDecisionSource,
    ConsentPurpose,
    ConsentStatus,
    CreditConsent,
    CreditEventKind,
    CreditReportRead,
    Grade,
)
from single_window import selectors as registry
from single_window.authentication import Caller
from single_window.permissions import IsActiveEnterpriseOrRegulator, caller_enterprise

# --- The report -----------------------------------------------------------------------------------------

CONTRIBUTION_KINDS = [*CreditEventKind.choices, (scoring.RETURNS_KIND, _("returns rate"))]

REPORT_EXAMPLE = {
    "enterprise": {"code": "3301960002", "name": "杭州示例跨境电商有限公司"},
    "customs_class": {
        "code": "certified",
        "name": "Certified enterprise",
        "recorded": True,
        "source": "customs_decision",
        "decision_reference": "HZ-CUSTOMS-CREDIT-2026-018",
        "decided_on": "2026-03-02",
        "effective_from": "2026-03-15",
    },
    "score": 741,
    "grade": "BBB",
    "computed_grade": "BBB",
    "computed_at": "2026-11-25T01:30:04+08:00",
    "base_score": 800,
    "half_life_days": 180,
    "explanation": [
        {"kind": "customs_rejection", "label": "customs rejection", "count": 3, "contribution": -41.2, "rate": None},
        {"kind": "matching_failure", "label": "matching failure", "count": 4, "contribution": -17.8, "rate": None},
    ],
    "override": None,
}


class EnterpriseRefOutput(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "CreditEnterprise"


class CustomsClassOutput(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="advanced_certified, certified, regular, dishonest, seriously_dishonest...")
    name = serializers.CharField(help_text="In the language of Accept-Language.")
    recorded = serializers.BooleanField(help_text="False: no customs decision is on record, the default class applies.")
    decision_reference = serializers.CharField(allow_null=True)
    decided_on = serializers.DateField(allow_null=True)
    effective_from = serializers.DateField(allow_null=True)


# "source" would shadow Field.source as a class attribute; the schema still needs it.
CustomsClassOutput._declared_fields["source"] = serializers.ChoiceField(
    choices=ClassDecisionSource.choices, allow_null=True, help_text="Where the decision on record comes from."
)


class ContributionOutput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=CONTRIBUTION_KINDS)
    count = serializers.IntegerField(help_text="Events of this kind within the horizon (returns: lists returned).")
    contribution = serializers.FloatField(help_text="Points added to the base, after decay and the kind's cap.")
    rate = serializers.FloatField(allow_null=True, help_text="The returns rate (returns_rate only).")

    class Meta:
        ref_name = "CreditContribution"


# "label" would shadow Field.label as a class attribute; the schema still needs it.
ContributionOutput._declared_fields["label"] = serializers.CharField(help_text="The kind, in the language asked for.")


class OverrideOutput(serializers.Serializer[Any]):
    grade = serializers.ChoiceField(choices=Grade.choices)
    reason = serializers.CharField()
    set_at = serializers.DateTimeField()

    class Meta:
        ref_name = "CreditGradeOverride"


class CreditReportOutput(serializers.Serializer[Any]):
    enterprise = EnterpriseRefOutput()
    customs_class = CustomsClassOutput()
    score = serializers.IntegerField(allow_null=True, help_text="0 to 1000; null until first computed.")
    grade = serializers.ChoiceField(
        choices=Grade.choices, allow_null=True, help_text="The override's while one stands, else the computed grade."
    )
    computed_grade = serializers.ChoiceField(choices=Grade.choices, allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    base_score = serializers.IntegerField()
    half_life_days = serializers.IntegerField()
    explanation = ContributionOutput(many=True, help_text="What moved the score from the base, by kind, largest first.")
    override = OverrideOutput(allow_null=True)

    class Meta:
        ref_name = "CreditReport"


def _class_name(name_en: str, name_zh: str) -> str:
    return name_zh if (get_language() or "").lower().startswith("zh") else name_en


def _kind_label(kind: str) -> str:
    return str(dict(CONTRIBUTION_KINDS).get(kind, kind))


def report_data(report: selectors.CreditReport) -> dict[str, Any]:
    decision, customs_class, profile = report.decision, report.customs_class, report.profile
    explanation = profile.explanation if profile is not None else {}
    return {
        "enterprise": {"code": report.enterprise.code, "name": report.enterprise.name},
        "customs_class": {
            "code": customs_class.code,
            "name": _class_name(customs_class.name_en, customs_class.name_zh),
            "recorded": decision is not None,
            "source": decision.source if decision is not None else None,
            "decision_reference": decision.decision_reference if decision is not None else None,
            "decided_on": decision.decided_on if decision is not None else None,
            "effective_from": decision.effective_from if decision is not None else None,
        },
        "score": profile.score if profile is not None else None,
        "grade": report.grade,
        "computed_grade": profile.grade if profile is not None else None,
        "computed_at": profile.computed_at if profile is not None else None,
        "base_score": explanation.get("base", scoring.BASE_SCORE),
        "half_life_days": explanation.get("half_life_days", scoring.HALF_LIFE_DAYS),
        "explanation": [
            {
                "kind": item["kind"],
                "label": _kind_label(item["kind"]),
                "count": item["count"],
                "contribution": item["contribution"],
                "rate": item.get("rate"),
            }
            for item in explanation.get("contributions", [])
        ],
        "override": (
            {"grade": report.override.grade, "reason": report.override.reason, "set_at": report.override.set_at}
            if report.override is not None
            else None
        ),
    }


class CreditReportApi(APIView):
    permission_classes = (IsActiveEnterpriseOrRegulator,)

    @extend_schema(
        operation_id="credit_report_retrieve",
        tags=["credit"],
        summary="An enterprise's credit report",
        description=(
            "The customs class (and the decision it comes from), the pilot area's score and grade, "
            "and how the score was computed: the contribution of each kind of event, after decay. "
            "For the enterprise itself; for a regulator's key whose districts or parks cover it; "
            "and for a financial institution holding the enterprise's `credit_report` consent in "
            "force, checked at every read. Each read by someone other than the enterprise is "
            "logged for it (`GET /api/v1/credit/access-log`). Anyone else gets 404, as for a code "
            "nobody registered. The report names no list, rule or evidence."
        ),
        responses={200: CreditReportOutput, **problems(404)},
        examples=[OpenApiExample("Report", value=REPORT_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, code: str) -> Response:
        caller = request.user
        assert isinstance(caller, Caller)  # noqa: S101 - guaranteed by the permission class
        subject = registry.enterprise_get_by_code(code=code)
        if subject is None:
            raise NotFoundError
        report = services.credit_report_read(
            subject=subject, reader=services.Reader(enterprise=caller.enterprise, user=caller.user)
        )
        return Response(CreditReportOutput(report_data(report)).data)


# --- Consents ----------------------------------------------------------------------------------------

CONSENT_EXAMPLE = {
    "id": 17,
    "grantee": {"code": "3301990001", "name": "杭州示例银行股份有限公司"},
    "purpose": "credit_report",
    "status": "in_force",
    "granted_at": "2026-11-25T10:02:11+08:00",
    "expires_at": "2027-05-25T00:00:00+08:00",
    "revoked_at": None,
}


class ConsentOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    grantee = EnterpriseRefOutput()
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    status = serializers.ChoiceField(choices=ConsentStatus.choices)
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "CreditConsent"


def consent_data(consent: CreditConsent) -> dict[str, Any]:
    return {
        "id": consent.pk,
        "grantee": {"code": consent.grantee.code, "name": consent.grantee.name},
        "purpose": consent.purpose,
        "status": consent.status_at(timezone.now()),
        "granted_at": consent.granted_at,
        "expires_at": consent.expires_at,
        "revoked_at": consent.revoked_at,
    }


class ConsentListApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        grantee = serializers.CharField(max_length=18, help_text="Customs code or USCC of a financial institution.")
        purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
        expires_at = serializers.DateTimeField(help_text="In the future, at most a year away.")

        class Meta:
            ref_name = "CreditConsentCreate"

    @extend_schema(
        operation_id="credit_consents_list",
        tags=["credit"],
        summary="The consents the enterprise granted, in force or not",
        responses={200: ConsentOutput(many=True), **problems()},
        examples=[OpenApiExample("Consents", value=[CONSENT_EXAMPLE], response_only=True)],
    )
    def get(self, request: Request) -> Response:
        consents = selectors.consents_granted_by(enterprise=caller_enterprise(request))
        return Response(ConsentOutput([consent_data(c) for c in consents], many=True).data)

    @extend_schema(
        operation_id="credit_consents_create",
        tags=["credit"],
        summary="Let a financial institution use the enterprise's credit",
        description=(
            "The purpose binds the consent to its use: `credit_report` lets the institution read "
            "the enterprise's credit report; `trade_financing` lets it finance the enterprise's "
            "trade on its record. The grantee must hold the financial institution role "
            "(`credit_consent_grantee_not_finance`). One consent per institution and purpose is "
            "in force at a time (`credit_consent_in_force`, 409: revoke it first)."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        request=InputSerializer,
        responses={201: ConsentOutput, **problems(400, 409, 415, 422)},
        examples=[
            OpenApiExample(
                "Six months of reports",
                value={"grantee": "3301990001", "purpose": "credit_report", "expires_at": "2027-05-25T00:00:00+08:00"},
                request_only=True,
            ),
            OpenApiExample("Granted", value=CONSENT_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grantee = registry.enterprise_get_by_code(code=data.validated_data["grantee"])
        if grantee is None:
            raise InvalidInput.for_field(
                "grantee", errors.UNKNOWN_ENTERPRISE, _("No enterprise is registered under this code.")
            )
        consent = services.credit_consent_grant(
            grantor=caller_enterprise(request),
            grantee=grantee,
            purpose=data.validated_data["purpose"],
            expires_at=data.validated_data["expires_at"],
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(ConsentOutput(consent_data(consent)).data, status=status.HTTP_201_CREATED)


def _own_consent(request: Request, consent_id: int) -> CreditConsent:
    consent = selectors.consents_granted_by(enterprise=caller_enterprise(request)).filter(pk=consent_id).first()
    if consent is None:
        raise NotFoundError
    return consent


class ConsentDetailApi(APIView):
    @extend_schema(
        operation_id="credit_consents_retrieve",
        tags=["credit"],
        summary="A consent the enterprise granted",
        responses={200: ConsentOutput, **problems(404)},
        examples=[OpenApiExample("Consent", value=CONSENT_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, consent_id: int) -> Response:
        return Response(ConsentOutput(consent_data(_own_consent(request, consent_id))).data)

    @extend_schema(
        operation_id="credit_consents_revoke",
        tags=["credit"],
        summary="Revoke a consent, at once",
        description="The institution's next read is refused. A consent that already ended is left as it is.",
        responses={204: None, **problems(404)},
    )
    def delete(self, request: Request, consent_id: int) -> Response:
        consent = _own_consent(request, consent_id)
        services.credit_consent_revoke(consent=consent, actor=request.user.actor)  # type: ignore[union-attr]
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Who read the report ---------------------------------------------------------------------------------

READ_EXAMPLE = {
    "id": 230,
    "read_at": "2026-11-25T11:40:27+08:00",
    "reader": {"kind": "financial_institution", "code": "3301990001", "name": "杭州示例银行股份有限公司"},
    "consent_id": 17,
    "purpose": "credit_report",
}


class ReaderOutput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(
        choices=[("financial_institution", "financial_institution"), ("regulator", "regulator")]
    )
    code = serializers.CharField(allow_null=True, help_text="Null for a regulator.")
    name = serializers.CharField(allow_null=True, help_text="Null for a regulator.")

    class Meta:
        ref_name = "CreditReader"


class ReadOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    read_at = serializers.DateTimeField()
    reader = ReaderOutput()
    consent_id = serializers.IntegerField(allow_null=True)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices, allow_null=True)

    class Meta:
        ref_name = "CreditReportRead"


class ReadPageOutput(serializers.Serializer[Any]):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ReadOutput(many=True)

    class Meta:
        ref_name = "CreditReportReadPage"


def read_data(read: CreditReportRead) -> dict[str, Any]:
    institution = read.reader_enterprise
    return {
        "id": read.pk,
        "read_at": read.read_at,
        "reader": (
            {"kind": "financial_institution", "code": institution.code, "name": institution.name}
            if institution is not None
            else {"kind": "regulator", "code": None, "name": None}
        ),
        "consent_id": read.consent_id,
        "purpose": read.consent.purpose if read.consent is not None else None,
    }


class ReadCursorPagination(CursorPagination):
    ordering = ("-read_at", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


class AccessLogApi(APIView):
    @extend_schema(
        operation_id="credit_access_log",
        tags=["credit"],
        summary="Who read the enterprise's credit report, newest first",
        description=(
            "Every read by a financial institution (under which consent) or by a regulator (not "
            "named). The enterprise's own reads are not logged."
        ),
        parameters=[
            OpenApiParameter("cursor", str, description="The cursor from `next` or `previous`."),
            OpenApiParameter("page_size", int, description="Up to 500; 50 by default."),
        ],
        responses={200: ReadPageOutput, **problems(404)},
        examples=[
            OpenApiExample(
                "A page", value={"next": None, "previous": None, "results": [READ_EXAMPLE]}, response_only=True
            )
        ],
    )
    def get(self, request: Request) -> Response:
        reads = selectors.report_reads_of(enterprise=caller_enterprise(request))
        paginator = ReadCursorPagination()
        page = paginator.paginate_queryset(reads, request, view=self) or []
        return Response(
            ReadPageOutput(
                {
                    "next": paginator.get_next_link(),
                    "previous": paginator.get_previous_link(),
                    "results": [read_data(read) for read in page],
                }
            ).data
        )
