"""The regulators' home page in the admin: the monitoring figures of their scope, as charts.

``/admin/`` shows a regulator (a member of the regulators' groups holding districts or parks)
and a superuser the figures of what they may see (``monitoring.selectors.scope_of_user``);
anyone else gets the admin's usual application index, which stays at ``/admin/apps/`` for
everyone. The page reads figures only through the selectors; the charts are drawn in the
browser by plotly.js, served by the project itself (``monitoring.dashboard_static``).
"""

from __future__ import annotations

import datetime
from typing import Any, Literal, cast

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from monitoring import selectors
from monitoring.dashboard_figures import DashboardBuilder, Period, scope_text
from monitoring.dashboard_links import Links, work_queues
from single_window.scope import scope_for

# What the page shows without a choice: the last 30 days, today included.
DEFAULT_DAYS = 30
# The earliest day a period may start on (before any pilot area), and how far after today it
# may end (a month or a year still under way).
FIRST_DAY = datetime.date(2000, 1, 1)
MAX_DAYS_AHEAD = 366
# Periods up to this many days are shown by day, longer ones by month.
DAILY_UP_TO_DAYS = 92
# The import trade modes a list may have (declarations' constraint), for the filter.
TRADE_MODE_CHOICES = ("9610", "1210")
# The dashboard's filters -> the selectors' filter key and the list page's field.
FILTERS = {"trade_mode": ("trade_mode", "trade_mode__exact"), "district": ("district", "customs_code__exact")}


class DashboardForm(forms.Form):
    """The period and filters of the page, read from the query string."""

    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    interval = forms.ChoiceField(
        label=_("Interval"),
        required=False,
        choices=(("", _("automatic")), ("day", _("by day")), ("month", _("by month"))),
    )
    trade_mode = forms.ChoiceField(label=_("Trade mode"), required=False)
    district = forms.RegexField(
        label=_("Customs district"),
        required=False,
        regex=r"^\d{4}$",
        max_length=4,
        widget=forms.TextInput(attrs={"size": 5, "placeholder": "2901", "inputmode": "numeric"}),
        error_messages={"invalid": _("A customs district is four digits.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ChoiceField", self.fields["trade_mode"]).choices = [
            ("", gettext("all trade modes")),
            *((code, str(selectors.TRADE_MODES[code])) for code in TRADE_MODE_CHOICES),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        today = timezone.localdate()
        date_to: datetime.date = cleaned.get("date_to") or today
        date_from: datetime.date = cleaned.get("date_from") or date_to - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if date_from < FIRST_DAY or date_to > today + datetime.timedelta(days=MAX_DAYS_AHEAD):
            raise forms.ValidationError(
                _("Choose days from %(first)s to a year from today.") % {"first": FIRST_DAY.isoformat()},
                code="out_of_range",
            )
        if date_from > date_to:
            raise forms.ValidationError(_("The period must start on or before its last day."), code="order")
        # The longest period the monitoring answers for (its API's limit too).
        longest = settings.MONITORING_MAX_RANGE_DAYS
        if (date_to - date_from).days + 1 > longest:
            raise forms.ValidationError(
                _("Choose a period of at most %(days)s days.") % {"days": longest}, code="too_long"
            )
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        return cleaned

    def period(self) -> Period:
        """The chosen period; the default one when the form is not valid."""
        data = self.cleaned_data if self.is_valid() else {}
        date_to = data.get("date_to") or timezone.localdate()
        date_from = data.get("date_from") or date_to - datetime.timedelta(days=DEFAULT_DAYS - 1)
        chosen = data.get("interval") or ("day" if (date_to - date_from).days < DAILY_UP_TO_DAYS else "month")
        interval: Literal["day", "month"] = "day" if chosen == "day" else "month"
        return Period(date_from=date_from, date_to=date_to, interval=interval)

    def filters(self) -> tuple[dict[str, str], dict[str, str]]:
        """The filters for the selectors and the same for the list page's links."""
        data = self.cleaned_data if self.is_valid() else {}
        figures: dict[str, str] = {}
        lists: dict[str, str] = {}
        for name, (figure_key, list_field) in FILTERS.items():
            if data.get(name):
                figures[figure_key] = data[name]
                lists[list_field] = data[name]
        return figures, lists


def dashboard(request: HttpRequest) -> HttpResponse:
    """The dashboard; the admin's index for a user who may see no figures."""
    scope = selectors.scope_of_user(request.user)
    if scope is None:
        return admin.site.index(request)
    today = timezone.localdate()
    form = DashboardForm(
        request.GET or None,
        initial={"date_from": today - datetime.timedelta(days=DEFAULT_DAYS - 1), "date_to": today},
    )
    period = form.period()
    figure_filters, list_filters = form.filters()
    links = Links(request, admin.site, filters=list_filters)
    board = DashboardBuilder(
        scope=scope, user_scope=scope_for(request), period=period, links=links, filters=figure_filters
    ).build()
    context = {
        **admin.site.each_context(request),
        "title": gettext("Dashboard"),
        "form": form,
        "period": period,
        "scope_text": scope_text(scope),
        "tiles": board.tiles,
        "charts": board.charts,
        "queues": work_queues(request, admin.site),
        "links_enabled": links.enabled,
        "all_applications_url": reverse("dashboard:all-applications"),
    }
    return TemplateResponse(request, "admin/monitoring/dashboard.html", context)


def all_applications(request: HttpRequest) -> HttpResponse:
    """The admin's application index, with a way back to the dashboard."""
    response = admin.site.index(request, extra_context={"title": gettext("All applications")})
    if isinstance(response, TemplateResponse) and selectors.scope_of_user(request.user) is not None:
        response.template_name = "admin/monitoring/all_applications.html"
        response.context_data = {**(response.context_data or {}), "dashboard_url": reverse("dashboard:dashboard")}
    return response
