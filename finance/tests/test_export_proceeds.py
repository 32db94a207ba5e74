"""Export proceeds: a released export list becomes a row of its seller's proceeds, converted
at finance's rate of its day (or awaiting one), read by the seller through the API."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.times import china_time
from declarations.export import examples, lifecycle
from declarations.models import ExportList, ExportListStatus
from declarations.tests.export import conftest as export_fixtures
from declarations.tests.export.conftest import XSend
from finance import proceeds
from finance.models import ExchangeRate, ExportProceeds
from single_window import subscriptions
from single_window.models import Event
from tests.factories import Persona

pytestmark = pytest.mark.django_db

operator = export_fixtures.operator
export_parties = export_fixtures.export_parties
export_clients = export_fixtures.export_clients
xsend = export_fixtures.xsend

URL = "/api/v1/finance/export-proceeds"
# The example list: one line of 59.80 USD (502).
GOODS_USD = Decimal("59.80")


def today() -> datetime.date:
    return china_time(timezone.now()).date()


def learn() -> int:
    """Hand finance the events stored so far, as the hub's subscription task does."""
    return subscriptions.subscriptions_run(names=[proceeds.SUBSCRIBER])[proceeds.SUBSCRIBER].handled


@pytest.fixture
def released_list(xsend: XSend) -> ExportList:
    """The example export list, declared, then released by customs' receipt 800."""
    assert xsend("export_list").status_code == 201
    export_list = ExportList.objects.get()
    ExportList.objects.filter(pk=export_list.pk).update(status=ExportListStatus.DECLARED)
    export_list.refresh_from_db()
    outcome = lifecycle.export_list_apply_receipt(
        export_list=export_list, code="800", info="放行", receipt_time=timezone.now(), invt_no="29012026E000000001"
    )
    assert outcome.to_status == ExportListStatus.RELEASED
    export_list.refresh_from_db()
    return export_list


def rate(currency: str, day: datetime.date, value: str) -> ExchangeRate:
    return ExchangeRate.objects.create(currency=currency, rate_date=day, rate=Decimal(value), source="test")


def test_the_release_event_carries_the_goods_value_by_currency(released_list: ExportList) -> None:
    events = Event.objects.filter(type="export_list.status_changed", payload__to_status="released")
    assert events.count() == 2  # the agent's copy and the seller's
    assert {str(event.payload["goods_values"]) for event in events} == {str({"502": "59.80000"})}


def test_a_released_usd_list_becomes_a_row_converted_at_the_rate_of_its_day(released_list: ExportList) -> None:
    rate("502", today() - datetime.timedelta(days=1), "7.0000")  # an older rate is not the day's
    rate("502", today(), "7.1234")

    learn()

    row = ExportProceeds.objects.get()
    assert (row.export_list_id, row.agent_code, row.cop_no) == (
        released_list.pk,
        examples.AGENT_CODE,
        examples.LIST["cop_no"],
    )
    assert row.ebc_code == examples.EBC_CODE
    assert row.invt_no == "29012026E000000001"
    assert row.trade_mode == released_list.trade_mode
    assert row.released_on == today()
    assert (row.currency, row.amount) == ("502", GOODS_USD)
    assert (row.rate, row.rate_date) == (Decimal("7.1234"), today())
    assert row.amount_cny == Decimal("425.98")  # 59.80 x 7.1234 = 425.979..., half-up to the fen
    assert row.awaiting_rate is False


def test_without_a_rate_the_row_awaits_one_and_is_converted_when_it_is_stored(
    released_list: ExportList, django_capture_on_commit_callbacks: Any
) -> None:
    rate("502", today() - datetime.timedelta(days=30), "7.0000")  # too old to stand in

    learn()

    row = ExportProceeds.objects.get()
    assert row.awaiting_rate is True
    assert (row.rate, row.rate_date, row.amount_cny) == (None, None, None)

    with django_capture_on_commit_callbacks(execute=True):
        rate("502", today(), "7.1234")

    row.refresh_from_db()
    assert (row.rate, row.rate_date, row.amount_cny) == (Decimal("7.1234"), today(), Decimal("425.98"))
    assert row.converted_at is not None


def test_the_sweep_converts_what_awaits_and_leaves_the_rest(released_list: ExportList) -> None:
    learn()
    assert proceeds.proceeds_sweep() == 0  # still no rate
    ExchangeRate.objects.bulk_create(  # stored without signals, as a raw load would
        [ExchangeRate(currency="502", rate_date=today() - datetime.timedelta(days=2), rate=Decimal("7.2"), source="t")]
    )

    assert proceeds.proceeds_sweep() == 1

    row = ExportProceeds.objects.get()
    assert (row.rate_date, row.amount_cny) == (today() - datetime.timedelta(days=2), Decimal("430.56"))
    assert proceeds.proceeds_sweep() == 0


def test_the_release_is_recorded_once_whatever_the_copies_and_replays(released_list: ExportList) -> None:
    rate("502", today(), "7.1234")
    learn()  # both parties' copies of the release
    assert ExportProceeds.objects.count() == 1

    releases = Event.objects.filter(type="export_list.status_changed", payload__to_status="released")
    assert releases.count() == 2
    for event in releases:
        assert proceeds.proceeds_record(event) == []  # handed over again: nothing more

    assert ExportProceeds.objects.count() == 1


def test_moves_other_than_release_record_nothing(xsend: XSend) -> None:
    assert xsend("export_list").status_code == 201

    learn()

    assert not ExportProceeds.objects.exists()


# --- The API ------------------------------------------------------------------------------------


def _row(*, list_id: int, ebc_code: str, day: datetime.date, amount: str, cny: str | None) -> ExportProceeds:
    converted = (
        {"rate": Decimal("7.1234"), "rate_date": day, "amount_cny": Decimal(cny), "converted_at": timezone.now()}
        if cny is not None
        else {}
    )
    return ExportProceeds.objects.create(
        export_list_id=list_id,
        agent_code="3301960003",
        cop_no=f"EXP{list_id}",
        ebc_code=ebc_code,
        released_on=day,
        currency="502",
        amount=Decimal(amount),
        source_event_id=list_id,
        **converted,
    )


@pytest.fixture
def seller_rows(ebc: Persona, outsider: Persona) -> None:
    _row(list_id=1, ebc_code=ebc.code, day=datetime.date(2026, 11, 3), amount="59.80", cny="425.98")
    _row(list_id=2, ebc_code=ebc.code, day=datetime.date(2026, 11, 20), amount="10", cny="71.23")
    _row(list_id=3, ebc_code=ebc.code, day=datetime.date(2026, 12, 1), amount="5", cny=None)
    _row(list_id=4, ebc_code=outsider.code, day=datetime.date(2026, 11, 3), amount="999", cny="7116.28")


def test_the_seller_reads_its_own_proceeds_by_month_and_currency(
    seller_rows: None, export_clients: dict[str, APIClient]
) -> None:
    response = export_clients["ebc"].get(URL, {"date_from": "2026-11-01", "date_to": "2026-12-31"})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "date_from": "2026-11-01",
        "date_to": "2026-12-31",
        "totals": [
            {
                "month": "2026-11",
                "currency": "502",
                "lists": 2,
                "amount": "69.80000",
                "amount_cny": "497.21",
                "awaiting_rate": 0,
            },
            {
                "month": "2026-12",
                "currency": "502",
                "lists": 1,
                "amount": "5.00000",
                "amount_cny": "0.00",
                "awaiting_rate": 1,
            },
        ],
    }


def test_the_csv_has_a_row_per_month_and_currency(seller_rows: None, export_clients: dict[str, APIClient]) -> None:
    response = export_clients["ebc"].get(URL, {"date_from": "2026-11-01", "date_to": "2026-11-30", "format": "csv"})

    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").splitlines() == [
        "month,currency,lists,amount,amount_cny,awaiting_rate",
        "2026-11,502,2,69.80000,497.21,0",
    ]


def test_another_enterprise_sees_none_of_the_sellers_rows(
    seller_rows: None, export_clients: dict[str, APIClient]
) -> None:
    agent_view = export_clients["agent"].get(URL, {"date_from": "2026-11-01", "date_to": "2026-12-31"})
    outsider_view = export_clients["outsider"].get(URL, {"date_from": "2026-11-01", "date_to": "2026-12-31"})

    assert agent_view.json()["totals"] == []
    assert [t["amount"] for t in outsider_view.json()["totals"]] == ["999.00000"]


def test_anonymous_callers_are_refused(seller_rows: None) -> None:
    assert APIClient().get(URL, {"date_from": "2026-11-01", "date_to": "2026-11-30"}).status_code in {401, 403}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-12-01", "date_to": "2026-11-01"}, "date_to"),
        ({"date_from": "2026-11-31", "date_to": "2026-12-01"}, "date_from"),
        ({"date_from": "20261101", "date_to": "2026-12-01"}, "date_from"),
        ({"date_from": "2026-11-01"}, "date_to"),
        ({"date_from": "2025-01-01", "date_to": "2026-12-31"}, "date_to"),
    ],
)
def test_a_bad_date_range_is_refused_with_its_field(
    seller_rows: None, export_clients: dict[str, APIClient], params: dict[str, str], field: str
) -> None:
    response = export_clients["ebc"].get(URL, params)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "finance_export_proceeds_range_invalid"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, "finance_export_proceeds_range_invalid")]
