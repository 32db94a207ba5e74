"""The finance API: a guarantor's guarantee account, and its tax statements.

Both are the calling enterprise's own: there is no parameter naming another enterprise, so an
outsider reads nothing of anyone else's.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.csv import csv_response
from core.errors import NotFoundError
from core.openapi import problems
from core.renderers import CSVRenderer, JSONRenderer
from finance import selectors, statements
from single_window.permissions import IsActiveEnterprise, caller_enterprise

# --- The guarantee account -------------------------------------------------------------------------


class GuaranteeOutput(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The guarantor's code, as lists name it (assureCode).")
    name = serializers.CharField()
    amount = serializers.DecimalField(max_digits=19, decimal_places=2, help_text="Guaranteed amount, CNY.")
    reserved = serializers.DecimalField(
        max_digits=19, decimal_places=2, help_text="Estimated tax of declared lists not yet billed, CNY."
    )
    used = serializers.DecimalField(
        max_digits=19, decimal_places=2, help_text="Tax of bills neither paid nor voided, CNY."
    )
    available = serializers.DecimalField(max_digits=19, decimal_places=2, help_text="amount - reserved - used.")
    customs_class = serializers.CharField(help_text="The guarantor's customs class (credit), which sets the cover.")
    cover_ratio = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text="Share of each list's estimated tax reserved (1.00: all of it)."
    )
    open_shortfalls = serializers.IntegerField(help_text="Lists held now because the account did not cover them.")
    expires_on = serializers.DateField(allow_null=True)
    updated_at = serializers.DateTimeField()


GUARANTEE_EXAMPLE = {
    "code": "3301960003",
    "name": "杭州示例报关有限公司",
    "amount": "500000.00",
    "reserved": "1234.56",
    "used": "20480.00",
    "available": "478285.44",
    "customs_class": "regular",
    "cover_ratio": "1.00",
    "open_shortfalls": 0,
    "expires_on": "2027-06-30",
    "updated_at": "2026-11-30T10:02:11+08:00",
}


class GuaranteeMeApi(APIView):
    permission_classes = (IsActiveEnterprise,)

    @extend_schema(
        operation_id="finance_guarantee_me",
        tags=["finance"],
        summary="Your guarantee account as a tax guarantor",
        description=(
            "The account regulators keep for your enterprise as a guarantor (assureCode): what it "
            "covers, what declared lists reserve, what unpaid bills use, and what is available. A "
            "list whose tax the account does not cover is held (`guarantee_insufficient`) and you "
            "receive `finance.guarantee_insufficient`. 404 when no account is kept for you."
        ),
        responses={
            200: OpenApiResponse(GuaranteeOutput, examples=[OpenApiExample("Account", value=GUARANTEE_EXAMPLE)]),
            **problems(404),
        },
    )
    def get(self, request: Request) -> Response:
        enterprise = caller_enterprise(request)
        account = selectors.account_of_enterprise(enterprise=enterprise)
        if account is None:
            raise NotFoundError()
        cover = selectors.cover_of(account.code)
        data = {
            "code": account.code,
            "name": account.name,
            "amount": account.amount,
            "reserved": account.reserved,
            "used": account.used,
            "available": account.available,
            "customs_class": cover.customs_class,
            "cover_ratio": cover.ratio,
            "open_shortfalls": account.shortfalls.filter(resolved_at__isnull=True).count(),
            "expires_on": account.expires_on,
            "updated_at": account.updated_at,
        }
        return Response(GuaranteeOutput(data).data)


# --- Statements ------------------------------------------------------------------------------------


class TotalOutput(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    customs_tax = serializers.DecimalField(max_digits=19, decimal_places=2)
    value_added_tax = serializers.DecimalField(max_digits=19, decimal_places=2)
    consumption_tax = serializers.DecimalField(max_digits=19, decimal_places=2)
    tax_total = serializers.DecimalField(max_digits=19, decimal_places=2)


class TotalsOutput(serializers.Serializer[Any]):
    issued = TotalOutput()
    summarised = TotalOutput(help_text="Summarised by customs, not yet paid.")
    paid = TotalOutput(help_text="Summarised with a payment notice number.")
    voided = TotalOutput()
    net = TotalOutput(help_text="Issued minus voided.")


class LineOutput(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    event = serializers.ChoiceField(choices=["issued", "summarised", "paid", "voided"])
    tax_no = serializers.CharField(source="bill.tax_no")
    invt_no = serializers.CharField(source="bill.invt_no")
    cop_no = serializers.CharField(source="bill.cop_no")
    order_no = serializers.CharField(source="bill.order_no")
    customs_tax = serializers.DecimalField(max_digits=19, decimal_places=2, source="bill.customs_tax")
    value_added_tax = serializers.DecimalField(max_digits=19, decimal_places=2, source="bill.value_added_tax")
    consumption_tax = serializers.DecimalField(max_digits=19, decimal_places=2, source="bill.consumption_tax")
    tax_total = serializers.DecimalField(max_digits=19, decimal_places=2, source="bill.tax_total")
    ent_duty_no = serializers.CharField()


class StatementOutput(serializers.Serializer[Any]):
    period = serializers.CharField(source="period.label")
    guarantor = serializers.SerializerMethodField()
    totals = serializers.SerializerMethodField()
    lines = LineOutput(many=True)

    def get_guarantor(self, statement: statements.Statement) -> dict[str, str]:
        enterprise = statement.guarantor
        return {"code": enterprise.customs_code or enterprise.uscc or "", "name": enterprise.name}

    def get_totals(self, statement: statements.Statement) -> dict[str, Any]:
        parts = {
            "issued": statement.issued,
            "summarised": statement.summarised,
            "paid": statement.paid,
            "voided": statement.voided,
            "net": statement.net,
        }
        return dict(TotalsOutput(parts).data)


_TOTAL = {"customs_tax": "0.00", "value_added_tax": "37.13", "consumption_tax": "0.00", "tax_total": "37.13"}
STATEMENT_EXAMPLE = {
    "period": "2026-11",
    "guarantor": {"code": "3301960003", "name": "杭州示例报关有限公司"},
    "totals": {
        "issued": {"count": 1, **_TOTAL},
        "summarised": {"count": 0, **dict.fromkeys(_TOTAL, "0.00")},
        "paid": {"count": 1, **_TOTAL},
        "voided": {"count": 0, **dict.fromkeys(_TOTAL, "0.00")},
        "net": {"count": 1, **_TOTAL},
    },
    "lines": [
        {
            "at": "2026-11-03T10:15:02+08:00",
            "event": "issued",
            "tax_no": "TAX290120261000000001",
            "invt_no": "29012026I000000001",
            "cop_no": "COP202611030001",
            "order_no": "ORDER202611030001",
            **_TOTAL,
            "ent_duty_no": "",
        },
        {
            "at": "2026-11-20T09:00:00+08:00",
            "event": "paid",
            "tax_no": "TAX290120261000000001",
            "invt_no": "29012026I000000001",
            "cop_no": "COP202611030001",
            "order_no": "ORDER202611030001",
            **_TOTAL,
            "ent_duty_no": "DUTY2026112000001",
        },
    ],
}


class StatementApi(APIView):
    permission_classes = (IsActiveEnterprise,)
    renderer_classes = (JSONRenderer, CSVRenderer)

    @extend_schema(
        operation_id="finance_statements",
        tags=["finance"],
        summary="Your tax statement of a month, as a guarantor",
        description=(
            "The bills customs issued in the month for lists you guarantee (assureCode), and the "
            "bills customs summarised, paid (summarised with a payment notice number) or voided in "
            "it, with totals; months in China Standard Time. JSON, or CSV with `Accept: text/csv` "
            "or `?format=csv` (one row per event)."
        ),
        parameters=[
            OpenApiParameter(
                "period",
                str,
                required=True,
                description="The month, YYYY-MM.",
                examples=[OpenApiExample("November 2026", value="2026-11")],
            ),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                StatementOutput, examples=[OpenApiExample("Statement", value=STATEMENT_EXAMPLE)]
            ),
            (200, "text/csv"): OpenApiResponse(
                str,
                examples=[
                    OpenApiExample(
                        "CSV",
                        value=",".join(statements.CSV_HEADER)
                        + "\n2026-11-03T10:15:02+08:00,issued,TAX290120261000000001,29012026I000000001,"
                        "COP202611030001,ORDER202611030001,0.00,37.13,0.00,37.13,\n",
                    )
                ],
            ),
            **problems(400),
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        enterprise = caller_enterprise(request)
        period = statements.period_parse(request.query_params.get("period", ""))
        statement = statements.statement_of(guarantor=enterprise, period=period)
        if isinstance(request.accepted_renderer, CSVRenderer):
            return csv_response(
                header=statements.CSV_HEADER,
                rows=statements.csv_rows(statement),
                filename=f"tax-statement-{period.label}.csv",
            )
        return Response(StatementOutput(statement).data)
