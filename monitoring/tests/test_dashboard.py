"""The regulators' dashboard at /admin/: each regulator sees the figures of its own scope.

Two worlds of rollup rows: district 2901 (the park ``PARK-A`` in Hangzhou and lists in no park)
and district 3104 (``PARK-B`` in Ningbo). Personas: a customs officer of district 2901, a
commerce-bureau analyst named to ``PARK-A``, a superuser, and staff users who may see no figures.
"""

from __future__ import annotations

import datetime
import html
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from monitoring.dashboard_figures import DASH
from monitoring.models import DailyListFigures, DailyRuleFailures, RuleKind
from single_window.models import Park, RegulatorScope
from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER
from tests.factories import ParkFactory

DASHBOARD = "/admin/"
ALL_APPLICATIONS = "/admin/apps/"
LISTS = "/admin/declarations/inventory/"


@pytest.fixture
def parks(db: None) -> dict[str, Park]:
    return {
        "a": ParkFactory.create(code="PARK-A", name="Xiasha Bonded Park", city="Hangzhou", customs_district="2901"),
        "b": ParkFactory.create(code="PARK-B", name="Meishan Bonded Park", city="Ningbo", customs_district="3104"),
    }


def figures(day: datetime.date, **fields: Any) -> DailyListFigures:
    row = {
        "day": day,
        "flow": "import",
        "trade_mode": "1210",
        "district": "2901",
        "port": "2901",
        "park": "",
        "city": "",
        "ebc": "3301960002",
        "agent": "3301960005",
        **fields,
    }
    return DailyListFigures.objects.create(**row)


@pytest.fixture
def today() -> datetime.date:
    return timezone.localdate()


@pytest.fixture
def worlds(parks: dict[str, Park], today: datetime.date) -> None:
    yesterday = today - datetime.timedelta(days=1)
    # District 2901, in PARK-A: 7 declared, 5 released worth 1,234.50.
    figures(
        yesterday,
        park="PARK-A",
        city="Hangzhou",
        declared=7,
        released=5,
        rejected=1,
        inspections=2,
        value_cny=Decimal("1234.50"),
        vat=Decimal("112.34"),
        clearance_count=5,
        clearance_seconds=5 * 7200,
        clearance_h40=5,
    )
    # District 2901, in no park: 3 declared (the officer sees them, the park's analyst does not).
    figures(today, trade_mode="9610", declared=3, released=0)
    # District 3104, in PARK-B: in nobody's scope here but the superuser's.
    figures(
        yesterday,
        district="3104",
        port="3104",
        park="PARK-B",
        city="Ningbo",
        declared=11,
        released=9,
        value_cny=Decimal("98765.43"),
    )
    DailyRuleFailures.objects.create(
        day=yesterday, kind=RuleKind.MATCHING, rule="amount_paid", district="2901", port="2901", park="PARK-A",
        ebc="3301960002", agent="3301960005", failures=4,
    )  # fmt: skip
    DailyRuleFailures.objects.create(
        day=yesterday, kind=RuleKind.MATCHING, rule="consignee", district="3104", port="3104", park="PARK-B",
        ebc="3301970002", agent="3301970005", failures=40,
    )  # fmt: skip


def regulator(username: str, group: str | None, **scope: Any) -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    if group is not None:
        user.groups.add(Group.objects.get(name=group))
    if scope:
        RegulatorScope.objects.create(user=user, **scope)
    return user


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def tile(response: Any, key: str) -> str:
    """The text of a headline tile, read from the page."""
    page = response.content.decode()
    found = re.search(rf'id="tile-{key}">.*?class="swd-tile-value">(.*?)</div>', page, re.DOTALL)
    assert found, f"no tile {key}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def table(response: Any, key: str) -> list[list[str]]:
    """The rows (cell texts) of a chart's table, read from the page."""
    page = response.content.decode()
    found = re.search(rf'<table class="swd-table" id="chart-{key}-table">(.*?)</table>', page, re.DOTALL)
    assert found, f"no table of {key}"
    body = found.group(1).split("<tbody>", 1)[1]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    ]


def links_of(response: Any, key: str) -> list[str]:
    page = response.content.decode()
    found = re.search(rf'<table class="swd-table" id="chart-{key}-table">(.*?)</table>', page, re.DOTALL)
    assert found
    return [html.unescape(url) for url in re.findall(r'href="([^"]+)"', found.group(1))]


@pytest.mark.usefixtures("worlds")
def test_a_customs_officer_sees_the_figures_of_its_district_only() -> None:
    officer = regulator("officer", CUSTOMS_OFFICER, customs_district="2901")

    response = client_of(officer).get(DASHBOARD)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/monitoring/dashboard.html"
    assert tile(response, "declared") == "10"
    assert tile(response, "released") == "5"
    assert tile(response, "value") == "1,234.50"
    assert ["Hangzhou", "7", "1,234.50", "100.00 %", "0.00", DASH] in table(response, "regions-city")
    assert "Ningbo" not in response.content.decode()
    rules = table(response, "rules")
    assert len(rules) == 1
    assert rules[0][-1] == "4"


@pytest.mark.usefixtures("worlds")
def test_a_commerce_bureau_analyst_sees_the_figures_and_lists_of_its_park(parks: dict[str, Park]) -> None:
    analyst = regulator("analyst", COMMERCE_BUREAU, park=parks["a"])

    response = client_of(analyst).get(DASHBOARD)

    assert response.status_code == 200
    assert tile(response, "declared") == "7"
    assert tile(response, "value") == "1,234.50"
    assert response.context["scope_text"] == "Parks Xiasha Bonded Park (PARK-A)"
    assert table(response, "regions-park")[0][:3] == ["Xiasha Bonded Park", "7", "1,234.50"]
    assert "Meishan" not in response.content.decode()
    # The analyst reads the lists behind its figures (personal data masked) and its queues.
    assert LISTS in response.content.decode()
    assert 'id="work-queues"' in response.content.decode()
    lists = client_of(analyst).get(f"{LISTS}?status__exact=released")
    assert lists.status_code == 200
    assert not lists.context["cl"].model_admin.get_actions(lists.wsgi_request)


@pytest.mark.usefixtures("worlds")
def test_a_superuser_sees_every_district() -> None:
    root = User.objects.create_superuser(username="root", email="root@example.com", password="x" * 16)

    response = client_of(root).get(DASHBOARD)

    assert tile(response, "declared") == "21"
    assert tile(response, "value") == "99,999.93"
    cities = table(response, "regions-city")
    assert [row[0] for row in cities] == ["Ningbo", "Hangzhou"]
    # Hangzhou's gap to the leader, Ningbo: 98,765.43 - 1,234.50.
    assert cities[1][4] == "97,530.93"


@pytest.mark.usefixtures("worlds")
@pytest.mark.parametrize(
    "who",
    [
        pytest.param({"group": None}, id="staff-without-a-regulators-group"),
        pytest.param({"group": AUDITOR}, id="auditor-holding-no-district-or-park"),
    ],
)
def test_a_user_who_may_see_no_figures_gets_the_plain_admin_index(who: dict[str, Any]) -> None:
    user = regulator("clerk", who["group"])

    response = client_of(user).get(DASHBOARD)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/index.html"
    assert "swd-tile" not in response.content.decode()
    assert "1,234.50" not in response.content.decode()


def test_the_dashboard_needs_a_staff_login() -> None:
    response = Client().get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.usefixtures("worlds")
def test_the_application_index_stays_one_link_away() -> None:
    officer = regulator("officer", CUSTOMS_OFFICER, customs_district="2901")
    client = client_of(officer)

    dashboard = client.get(DASHBOARD)
    applications = client.get(ALL_APPLICATIONS)

    assert f'href="{ALL_APPLICATIONS}"' in dashboard.content.decode()
    assert applications.status_code == 200
    assert "app_list" in applications.context
    assert f'href="{DASHBOARD}"' in applications.content.decode()


@pytest.mark.usefixtures("worlds")
def test_drill_down_links_carry_the_period_status_and_filters(today: datetime.date) -> None:
    officer = regulator("officer", CUSTOMS_OFFICER, customs_district="2901")
    client = client_of(officer)
    start = today - datetime.timedelta(days=6)

    response = client.get(
        DASHBOARD, {"date_from": start.isoformat(), "date_to": today.isoformat(), "trade_mode": "1210"}
    )

    # Only PARK-A's row is of trade mode 1210.
    assert tile(response, "declared") == "7"
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    volume = table(response, "volume")
    assert volume == [[html.unescape(response.context["period"].label(today - datetime.timedelta(days=1))), "7", "5"]]
    declared_link, released_link = links_of(response, "volume")
    declared = parse_qs(urlsplit(declared_link).query)
    assert urlsplit(declared_link).path == LISTS
    assert declared["decl_time__gte"] == [yesterday]
    assert declared["decl_time__lte"] == [yesterday]
    assert declared["trade_mode__exact"] == ["1210"]
    assert declared["status__in"] == ["declared,accepted,manual_review,inspection,detained,released,closed"]
    assert "The trade mode and district filters do not apply here." in response.content.decode()
    released = parse_qs(urlsplit(released_link).query)
    assert released["status__in"] == ["released,closed"]
    rates = links_of(response, "rates")
    inspection = parse_qs(urlsplit(rates[3]).query)
    assert inspection["status__exact"] == ["inspection"]
    assert inspection["decl_time__gte"] == [start.isoformat()]
    assert inspection["decl_time__lte"] == [today.isoformat()]
    # Each link opens the list page as it is (a filter it refused would redirect with ?e=1).
    for link in (declared_link, released_link, rates[3]):
        opened = client.get(link)
        assert opened.status_code == 200, link
        assert opened.context["cl"].params.get("decl_time__gte")


@pytest.mark.usefixtures("worlds")
def test_the_work_queues_open_the_filtered_list_page() -> None:
    officer = regulator("officer", CUSTOMS_OFFICER, customs_district="2901")
    client = client_of(officer)

    response = client.get(DASHBOARD)

    queues = {queue.key: queue for queue in response.context["queues"]}
    assert set(queues) == {"waiting", "held", "match_failed", "risk_review", "send_failed", "tax_bill_differs"}
    assert queues["match_failed"].url == "/admin/declarations/listmatchfailure/"
    assert queues["held"].url == f"{LISTS}?status__exact=held"
    assert queues["tax_bill_differs"].url == "/admin/declarations/listtaxbilldifference/"
    assert all(queue.count == 0 for queue in queues.values())
    for queue in queues.values():
        assert client.get(queue.url).status_code == 200, queue.url


@pytest.mark.usefixtures("worlds")
def test_a_bad_period_is_refused_and_the_last_30_days_shown(today: datetime.date) -> None:
    officer = regulator("officer", CUSTOMS_OFFICER, customs_district="2901")

    response = client_of(officer).get(DASHBOARD, {"date_from": today.isoformat(), "date_to": "2020-01-01"})

    assert response.status_code == 200
    assert "The period must start on or before its last day." in response.content.decode()
    period = response.context["period"]
    assert (period.date_from, period.date_to) == (today - datetime.timedelta(days=29), today)
    assert tile(response, "declared") == "10"


@pytest.mark.usefixtures("worlds")
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_from": "0001-01-01", "date_to": "0001-01-02"}, "Choose days from 2000-01-01 to a year from today."),
        ({"date_to": "9999-12-31", "date_from": "9999-12-01"}, "Choose days from 2000-01-01 to a year from today."),
        ({"date_from": "2024-01-01", "date_to": "2026-12-31"}, "Choose a period of at most 731 days."),
        ({"date_from": "yesterday"}, "Enter a valid date."),
        ({"district": "<b>29</b>"}, "A customs district is four digits."),
        ({"interval": "year"}, "Select a valid choice."),
    ],
)
def test_odd_input_is_refused_and_the_default_period_shown(query: dict[str, str], message: str) -> None:
    officer = regulator("officer", CUSTOMS_OFFICER, customs_district="2901")

    response = client_of(officer).get(DASHBOARD, query)

    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert "<b>29</b>" not in response.content.decode()
    assert response.context["period"].date_to == timezone.localdate()
    assert tile(response, "declared") == "10"


@pytest.mark.usefixtures("worlds")
def test_chart_data_reaches_the_page_as_json_not_as_code() -> None:
    officer = regulator("officer", CUSTOMS_OFFICER, customs_district="2901")

    page = client_of(officer).get(DASHBOARD).content.decode()

    assert '<script id="chart-volume-data" type="application/json">' in page
    assert 'data-figure="chart-volume-data"' in page
    assert "/static/monitoring/vendor/plotly.min.js" in page
