"""The figures API: who sees which figures, CSV, and refusals of bad parameters."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from declarations.tests.helpers import Send
from monitoring import codes
from monitoring.tests.test_rollups import PATHS, declare_and_answer, learn, today
from single_window.models import Park, RegulatorScope, Role
from single_window.roles import COMMERCE_BUREAU, CUSTOMS_OFFICER
from tests.factories import ApiKeyFactory, ParkFactory, persona

pytestmark = pytest.mark.django_db
URL = "/api/v1/monitoring/"


def client(raw_key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return api


def regulator_client(group: str, **scope: object) -> APIClient:
    user = User.objects.create_user(username=f"regulator-{User.objects.count()}", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    RegulatorScope.objects.create(user=user, **scope)
    _key, raw = ApiKeyFactory.issue(user=user, enterprise=None)
    return client(raw)


def params(**extra: str) -> dict[str, str]:
    day = today().isoformat()
    return {"date_from": day, "date_to": day, **extra}


@pytest.fixture
def released(send: Send, parties: dict[str, object]) -> None:
    declare_and_answer(send, PATHS["released"])
    declare_and_answer(send, PATHS["rejected"])
    learn()


def test_an_enterprise_sees_its_own_figures_and_an_outsider_none(
    released: None, parties: dict[str, object], park: Park
) -> None:
    own = client(parties["ebc"].raw_key).get(URL + "summary", params())  # type: ignore[attr-defined]
    outsider = persona(park=park, roles=[Role.EBC], name="Other Seller Ltd")
    other = client(outsider.raw_key).get(URL + "summary", params())

    assert own.status_code == 200, own.content
    assert (own.json()["declared"], own.json()["released"], own.json()["rejected"]) == (2, 1, 1)
    assert own.json()["rejection_rate"] == 0.5
    assert float(own.json()["value_cny"]) > 0
    assert other.status_code == 200
    assert (other.json()["declared"], other.json()["value_cny"]) == (0, "0.00")


def test_the_declaring_agent_sees_the_lists_it_declared(released: None, parties: dict[str, object]) -> None:
    answer = client(parties["agent"].raw_key).get(URL + "series", params(dimension="ebc"))  # type: ignore[attr-defined]

    assert answer.status_code == 200, answer.content
    [point] = answer.json()["points"]
    assert (point["declared"], point["released"], point["label"]) == (2, 1, parties["ebc"].enterprise.name)  # type: ignore[attr-defined]


def test_regulators_see_their_district_or_park_and_nothing_else(released: None, park: Park) -> None:
    other_park = ParkFactory.create(customs_district="5100")
    cases = [
        (regulator_client(CUSTOMS_OFFICER, customs_district=park.customs_district), 2),
        (regulator_client(COMMERCE_BUREAU, park=park), 2),
        (regulator_client(CUSTOMS_OFFICER, customs_district="5100"), 0),
        (regulator_client(COMMERCE_BUREAU, park=other_park), 0),
    ]
    for api, declared in cases:
        answer = api.get(URL + "summary", params())
        assert answer.status_code == 200, answer.content
        assert answer.json()["declared"] == declared


def test_a_regulator_without_scope_and_an_anonymous_caller_are_refused(released: None) -> None:
    user = User.objects.create_user(username="nobody", is_staff=True)
    _key, raw = ApiKeyFactory.issue(user=user, enterprise=None)

    assert client(raw).get(URL + "summary", params()).status_code == 403
    assert APIClient().get(URL + "summary", params()).status_code == 401


def test_figures_come_as_csv_with_formulas_neutralised(released: None, parties: dict[str, object]) -> None:
    api = client(parties["ebc"].raw_key)  # type: ignore[attr-defined]
    summary = api.get(URL + "summary", {**params(), "format": "csv"})
    series = api.get(URL + "series", params(dimension="hs_chapter"), HTTP_ACCEPT="text/csv")

    assert summary.status_code == 200
    assert summary["Content-Type"].startswith("text/csv")
    lines = summary.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "figure,value"
    assert "declared,2" in lines
    series_lines = series.content.decode("utf-8-sig").splitlines()
    assert series_lines[0].startswith("period,key,label,declared")
    assert len(series_lines) >= 2


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({"date_to": "2026-11-01"}, "date_from", codes.DATE_INVALID),
        ({"date_from": "2026-11-02", "date_to": "2026-11-01"}, "date_to", codes.DATE_RANGE_INVALID),
        ({"date_from": "2020-01-01", "date_to": "2026-11-01"}, "date_to", codes.DATE_RANGE_TOO_LONG),
        ({"date_from": "2026-11-01", "date_to": "2026-11-01", "flow": "sideways"}, "flow", codes.FLOW_INVALID),
        ({"date_from": "2026-11-01", "date_to": "2026-11-01", "interval": "week"}, "interval", codes.INTERVAL_INVALID),
        (
            {"date_from": "2026-11-01", "date_to": "2026-11-01", "dimension": "colour"},
            "dimension",
            codes.DIMENSION_INVALID,
        ),
    ],
)
def test_bad_parameters_are_refused_with_a_stable_code(
    parties: dict[str, object], query: dict[str, str], field: str, code: str
) -> None:
    answer = client(parties["ebc"].raw_key).get(URL + "series", query)  # type: ignore[attr-defined]

    assert answer.status_code == 400
    assert answer["Content-Type"].startswith("application/problem+json")
    body = answer.json()
    assert body["code"] == code or any(e.get("code") == code for e in body.get("errors", [])), body
    assert field in str(body)
