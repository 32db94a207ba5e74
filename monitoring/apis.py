"""The monitoring API: figures of a date range, as a summary or a series, in JSON or CSV.

Who may call, and what they see: an enterprise's key its own lists (as e-commerce enterprise
or declaring agent); a regulator's key the districts and parks the regulator holds; a
superuser's key everything. A regulator holding neither is refused (403).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import errors
from core.csv import csv_response
from core.errors import Forbidden, InvalidInput
from core.openapi import problems
from core.renderers import CSVRenderer, JSONRenderer
from monitoring import codes, selectors
from single_window.authentication import Caller
from single_window.permissions import IsActiveEnterpriseOrRegulator

# --- Parameters --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Query:
    date_from: datetime.date
    date_to: datetime.date
    flow: str
    filters: Mapping[str, str]


def _date(params: Mapping[str, str], name: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(params.get(name, ""))
    except ValueError:
        raise InvalidInput.for_field(
            name, codes.DATE_INVALID, _("Give the day as YYYY-MM-DD, for example 2026-11-01.")
        ) from None


def _query(params: Mapping[str, str]) -> Query:
    date_from, date_to = _date(params, "date_from"), _date(params, "date_to")
    if date_to < date_from:
        raise InvalidInput.for_field("date_to", codes.DATE_RANGE_INVALID, _("date_to is before date_from."))
    if (date_to - date_from).days + 1 > settings.MONITORING_MAX_RANGE_DAYS:
        raise InvalidInput.for_field(
            "date_to",
            codes.DATE_RANGE_TOO_LONG,
            _("Ask for at most %(days)s days at a time.") % {"days": settings.MONITORING_MAX_RANGE_DAYS},
        )
    flow = params.get("flow", "import")
    if flow not in selectors.FLOWS:
        raise InvalidInput.for_field("flow", codes.FLOW_INVALID, _("flow is import or export."))
    filters = {key: params[key] for key in selectors.DIMENSIONS if key in params}
    for key, value in filters.items():
        if not value or len(value) > 100:
            raise InvalidInput.for_field(key, codes.FILTER_INVALID, _("Give one code to filter by."))
    return Query(date_from=date_from, date_to=date_to, flow=flow, filters=filters)


def _scope(request: Request) -> selectors.FigureScope:
    caller = request.user
    scope = None
    if isinstance(caller, Caller):
        if caller.enterprise is not None:
            scope = selectors.scope_of_enterprise(caller.enterprise)
        elif caller.user is not None:
            scope = selectors.scope_of_user(caller.user)
    if scope is None:
        raise Forbidden(_("This key may see no figures."), code=errors.PERMISSION_DENIED)
    return scope


def _wants_csv(request: Request) -> bool:
    return isinstance(request.accepted_renderer, CSVRenderer)


# --- Summary -----------------------------------------------------------------------------------


class SummaryOutput(serializers.Serializer[Any]):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    currency = serializers.CharField(help_text="Always CNY.")
    declared = serializers.IntegerField(help_text="Lists sent to customs in the range.")
    released = serializers.IntegerField()
    rejected = serializers.IntegerField(help_text="Rejected by customs (100).")
    cancelled = serializers.IntegerField()
    returned = serializers.IntegerField()
    quota_refused = serializers.IntegerField(help_text="Matching runs refused by the buyer's quota.")
    risk_reviews = serializers.IntegerField(help_text="Lists sent to the single window's risk review.")
    customs_reviews = serializers.IntegerField(help_text="Customs' manual reviews (300).")
    inspections = serializers.IntegerField(help_text="Customs' inspections (500).")
    value_cny = serializers.DecimalField(max_digits=19, decimal_places=2, help_text="Dutiable value released.")
    duty = serializers.DecimalField(max_digits=19, decimal_places=2)
    vat = serializers.DecimalField(max_digits=19, decimal_places=2)
    consumption_tax = serializers.DecimalField(max_digits=19, decimal_places=2)
    tax_total = serializers.DecimalField(max_digits=19, decimal_places=2)
    clearance_p50_s = serializers.FloatField(allow_null=True, help_text="Median seconds, declared to released.")
    clearance_p90_s = serializers.FloatField(allow_null=True)
    clearance_p99_s = serializers.FloatField(allow_null=True)
    rejection_rate = serializers.FloatField(allow_null=True)
    risk_review_rate = serializers.FloatField(allow_null=True)
    customs_review_rate = serializers.FloatField(allow_null=True)
    inspection_rate = serializers.FloatField(allow_null=True)


SUMMARY_FIELDS = tuple(SummaryOutput().fields)

SUMMARY_EXAMPLE = {
    "date_from": "2026-11-01",
    "date_to": "2026-11-30",
    "currency": "CNY",
    "declared": 48210,
    "released": 46930,
    "rejected": 812,
    "cancelled": 301,
    "returned": 95,
    "quota_refused": 57,
    "risk_reviews": 1204,
    "customs_reviews": 35,
    "inspections": 120,
    "value_cny": "14012345.67",
    "duty": "0.00",
    "vat": "1190023.10",
    "consumption_tax": "88012.44",
    "tax_total": "1278035.54",
    "clearance_p50_s": 412.5,
    "clearance_p90_s": 2210.0,
    "clearance_p99_s": 30800.0,
    "rejection_rate": 0.0168,
    "risk_review_rate": 0.0244,
    "customs_review_rate": 0.0007,
    "inspection_rate": 0.0025,
}

_DATE_PARAMETERS = [
    OpenApiParameter(
        "date_from",
        datetime.date,
        required=True,
        description="First day (China time), YYYY-MM-DD.",
        examples=[OpenApiExample("November", value="2026-11-01")],
    ),
    OpenApiParameter(
        "date_to",
        datetime.date,
        required=True,
        description="Last day, inclusive; at most MONITORING_MAX_RANGE_DAYS (731) days after date_from.",
        examples=[OpenApiExample("November", value="2026-11-30")],
    ),
    OpenApiParameter(
        "flow",
        str,
        enum=list(selectors.FLOWS),
        description=(
            "import (default) or export. The export figures count the export lists: the items' "
            "value in CNY at the stored rate of the release day, no taxes, and `country` is the "
            "destination country."
        ),
        examples=[OpenApiExample("Import", value="import"), OpenApiExample("Export", value="export")],
    ),
    *[
        OpenApiParameter(key, str, description=f"Only the figures whose {key} is this code.")
        for key in selectors.DIMENSIONS
    ],
]


class SummaryApi(APIView):
    permission_classes = (IsActiveEnterpriseOrRegulator,)
    renderer_classes = (JSONRenderer, CSVRenderer)

    @extend_schema(
        operation_id="monitoring_summary",
        tags=["monitoring"],
        summary="Figures of a date range: volumes, value, taxes, clearance times, rates",
        description=(
            "Counts of list moves on the days (declared, released, rejected...), the value and "
            "taxes of the lists released, clearance time percentiles (declared to released) "
            "and rates, within what the key may see (an enterprise: its own lists as e-commerce "
            "enterprise or agent; a regulator: its districts and parks). Filter by any dimension "
            "(`park=...`, `hs_chapter=33`). JSON, or CSV with `Accept: text/csv` or `?format=csv`."
        ),
        parameters=_DATE_PARAMETERS,
        responses={
            (200, "application/json"): OpenApiResponse(
                SummaryOutput, examples=[OpenApiExample("Summary", value=SUMMARY_EXAMPLE)]
            ),
            (200, "text/csv"): OpenApiResponse(
                str,
                examples=[
                    OpenApiExample(
                        "CSV",
                        value="figure,value\ndate_from,2026-11-01\ndate_to,2026-11-30\ncurrency,CNY\n"
                        "declared,48210\nreleased,46930\n",
                    )
                ],
            ),
            **problems(400),
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        scope = _scope(request)
        query = _query(request.query_params)
        result = selectors.summary(scope, query.date_from, query.date_to, flow=query.flow, filters=query.filters)
        data = SummaryOutput(result).data
        if _wants_csv(request):
            return csv_response(
                header=("figure", "value"),
                rows=[(name, data[name]) for name in SUMMARY_FIELDS],
                filename=f"figures-{query.date_from}-{query.date_to}.csv",
            )
        return Response(data)


# --- Series ------------------------------------------------------------------------------------


class SeriesPointOutput(serializers.Serializer[Any]):
    period = serializers.DateField(help_text="The day, or the first day of the month.")
    key = serializers.CharField(allow_null=True, help_text="The dimension's value (a code).")
    # A field named label, as the contract has it (DRF takes it out of the class attributes).
    label = serializers.CharField(  # type: ignore[assignment]
        allow_null=True, help_text="Its name in the request's language."
    )
    declared = serializers.IntegerField()
    released = serializers.IntegerField()
    value_cny = serializers.DecimalField(max_digits=19, decimal_places=2)
    tax_total = serializers.DecimalField(max_digits=19, decimal_places=2)
    clearance_p50_s = serializers.FloatField(allow_null=True)
    clearance_p90_s = serializers.FloatField(allow_null=True)


class SeriesOutput(serializers.Serializer[Any]):
    interval = serializers.CharField()
    dimension = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    points = SeriesPointOutput(many=True)


SERIES_FIELDS = tuple(SeriesPointOutput().fields)
SERIES_EXAMPLE = {
    "interval": "month",
    "dimension": "hs_chapter",
    "currency": "CNY",
    "points": [
        {
            "period": "2026-11-01",
            "key": "33",
            "label": "Chapter 33",
            "declared": 20110,
            "released": 19870,
            "value_cny": "6120345.10",
            "tax_total": "712345.99",
            "clearance_p50_s": 398.0,
            "clearance_p90_s": 2005.5,
        }
    ],
}

EXPORT_SERIES_EXAMPLE = {
    "interval": "month",
    "dimension": "country",
    "currency": "CNY",
    "points": [
        {
            "period": "2026-11-01",
            "key": "502",
            "label": "United States",
            "declared": 1250,
            "released": 1238,
            "value_cny": "402310.55",
            "tax_total": "0.00",
            "clearance_p50_s": 240.0,
            "clearance_p90_s": 905.0,
        }
    ],
}


class SeriesApi(APIView):
    permission_classes = (IsActiveEnterpriseOrRegulator,)
    renderer_classes = (JSONRenderer, CSVRenderer)

    @extend_schema(
        operation_id="monitoring_series",
        tags=["monitoring"],
        summary="Figures by day or month, optionally by a dimension",
        description=(
            "The same figures as the summary, per period (`interval=day|month`) and, with "
            "`dimension`, per value of it: " + ", ".join(selectors.DIMENSIONS) + ". By country (origin for "
            "import, destination for export) or HS chapter a list counts once in each group of its "
            "items. JSON, or CSV."
        ),
        parameters=[
            *_DATE_PARAMETERS,
            OpenApiParameter("interval", str, enum=["day", "month"], description="day (default) or month."),
            OpenApiParameter("dimension", str, enum=list(selectors.DIMENSIONS), description="Group by this."),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                SeriesOutput,
                examples=[
                    OpenApiExample("Series by chapter", value=SERIES_EXAMPLE),
                    OpenApiExample(
                        "Export series by destination country (flow=export&dimension=country)",
                        value=EXPORT_SERIES_EXAMPLE,
                    ),
                ],
            ),
            (200, "text/csv"): OpenApiResponse(
                str,
                examples=[
                    OpenApiExample(
                        "CSV",
                        value=",".join(SERIES_FIELDS)
                        + "\n2026-11-01,33,Chapter 33,20110,19870,6120345.10,712345.99,398.0,2005.5\n",
                    )
                ],
            ),
            **problems(400),
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        scope = _scope(request)
        query = _query(request.query_params)
        interval = request.query_params.get("interval", "day")
        if interval not in ("day", "month"):
            raise InvalidInput.for_field("interval", codes.INTERVAL_INVALID, _("interval is day or month."))
        dimension = request.query_params.get("dimension") or None
        if dimension is not None and dimension not in selectors.DIMENSIONS:
            raise InvalidInput.for_field(
                "dimension",
                codes.DIMENSION_INVALID,
                _("dimension is one of: %(names)s.") % {"names": ", ".join(selectors.DIMENSIONS)},
            )
        points = selectors.series(
            scope,
            query.date_from,
            query.date_to,
            "month" if interval == "month" else "day",
            dimension=dimension,
            flow=query.flow,
            filters=query.filters,
        )
        data = SeriesOutput({"interval": interval, "dimension": dimension, "currency": "CNY", "points": points}).data
        if _wants_csv(request):
            return csv_response(
                header=SERIES_FIELDS,
                rows=[[point[name] for name in SERIES_FIELDS] for point in data["points"]],
                filename=f"figures-{interval}-{query.date_from}-{query.date_to}.csv",
            )
        return Response(data)
