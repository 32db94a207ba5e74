"""The export proceeds API: a seller's released export lists, by month and currency, in the
lists' currency and in CNY (docs/finance.md, "Export proceeds").

The caller's own only: the figures are those of the lists naming the calling enterprise as
e-commerce enterprise (``ebcCode``); no parameter names another enterprise.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.csv import csv_response
from core.errors import InvalidInput
from core.openapi import problems
from core.renderers import CSVRenderer, JSONRenderer
from finance import codes, selectors
from single_window.permissions import IsActiveEnterprise, caller_enterprise

# The longest range asked at once.
MAX_RANGE_DAYS = 366
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
CSV_HEADER = ("month", "currency", "lists", "amount", "amount_cny", "awaiting_rate")


def _date(params: Any, name: str) -> datetime.date:
    text = params.get(name, "")
    try:
        if not DAY.match(text):
            raise ValueError(text)
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.for_field(
            name, codes.EXPORT_PROCEEDS_RANGE_INVALID, _("Give the day as YYYY-MM-DD, for example 2026-11-01.")
        ) from None


def range_parse(params: Any) -> tuple[datetime.date, datetime.date]:
    """``date_from`` and ``date_to`` (both required, both included), at most a year apart."""
    date_from, date_to = _date(params, "date_from"), _date(params, "date_to")
    if date_to < date_from:
        raise InvalidInput.for_field(
            "date_to", codes.EXPORT_PROCEEDS_RANGE_INVALID, _("The range ends before it starts.")
        )
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise InvalidInput.for_field(
            "date_to",
            codes.EXPORT_PROCEEDS_RANGE_INVALID,
            _("Ask for at most %(days)s days at once.") % {"days": MAX_RANGE_DAYS},
        )
    return date_from, date_to


class ProceedsTotalOutput(serializers.Serializer[Any]):
    month = serializers.CharField(help_text="The month of release, YYYY-MM, China Standard Time.")
    currency = serializers.CharField(help_text="Customs currency code (JGS-20): 502 USD, 300 EUR, 142 CNY...")
    lists = serializers.IntegerField(help_text="Export lists released in the month with goods in the currency.")
    amount = serializers.DecimalField(
        max_digits=24, decimal_places=5, help_text="Goods value in the currency (the items' total prices)."
    )
    amount_cny = serializers.DecimalField(
        max_digits=24,
        decimal_places=2,
        help_text="CNY at finance's rate of each release day, lists awaiting a rate left out.",
    )
    awaiting_rate = serializers.IntegerField(help_text="Lists not yet converted: no rate of their day is stored yet.")


class ProceedsOutput(serializers.Serializer[Any]):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    totals = ProceedsTotalOutput(many=True)


PROCEEDS_EXAMPLE = {
    "date_from": "2026-11-01",
    "date_to": "2026-12-31",
    "totals": [
        {
            "month": "2026-11",
            "currency": "502",
            "lists": 2,
            "amount": "125.00000",
            "amount_cny": "890.43",
            "awaiting_rate": 0,
        },
        {
            "month": "2026-12",
            "currency": "502",
            "lists": 1,
            "amount": "62.50000",
            "amount_cny": "0.00",
            "awaiting_rate": 1,
        },
    ],
}


class ExportProceedsApi(APIView):
    permission_classes = (IsActiveEnterprise,)
    renderer_classes = (JSONRenderer, CSVRenderer)

    @extend_schema(
        operation_id="finance_export_proceeds",
        tags=["finance"],
        summary="Your export proceeds by month and currency, as a seller",
        description=(
            "The goods value of the export lists released from `date_from` to `date_to` (both "
            "included, at most 366 days, China Standard Time) that name your enterprise as "
            "e-commerce enterprise (ebcCode), summed by month of release and currency, in the "
            "currency and in CNY at finance's exchange rate of each release day (or the latest "
            "earlier one within `FINANCE_RATE_MAX_AGE_DAYS`). A list released on a day without a "
            "rate counts in `awaiting_rate` and in no CNY total until a rate is stored. JSON, or "
            "CSV with `Accept: text/csv` or `?format=csv` (one row per month and currency). A bad "
            "date or range: 400 `finance_export_proceeds_range_invalid` on the field."
        ),
        parameters=[
            OpenApiParameter(
                "date_from",
                str,
                required=True,
                description="First day, YYYY-MM-DD.",
                examples=[OpenApiExample("1 November 2026", value="2026-11-01")],
            ),
            OpenApiParameter(
                "date_to",
                str,
                required=True,
                description="Last day, YYYY-MM-DD, not before `date_from`.",
                examples=[OpenApiExample("31 December 2026", value="2026-12-31")],
            ),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                ProceedsOutput, examples=[OpenApiExample("Proceeds", value=PROCEEDS_EXAMPLE)]
            ),
            (200, "text/csv"): OpenApiResponse(
                str,
                examples=[
                    OpenApiExample(
                        "CSV",
                        value=",".join(CSV_HEADER)
                        + "\n2026-11,502,2,125.00000,890.43,0\n2026-12,502,1,62.50000,0.00,1\n",
                    )
                ],
            ),
            **problems(400),
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        enterprise = caller_enterprise(request)
        date_from, date_to = range_parse(request.query_params)
        totals = selectors.export_proceeds(ebc_codes=enterprise.codes, date_from=date_from, date_to=date_to)
        if isinstance(request.accepted_renderer, CSVRenderer):
            return csv_response(
                header=CSV_HEADER,
                rows=(
                    (t.month, t.currency, t.lists, f"{t.amount:.5f}", f"{t.amount_cny:.2f}", t.awaiting_rate)
                    for t in totals
                ),
                filename=f"export-proceeds-{date_from}-{date_to}.csv",
            )
        return Response(ProceedsOutput({"date_from": date_from, "date_to": date_to, "totals": totals}).data)
