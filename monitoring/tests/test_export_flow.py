"""Export lists count in the figures under flow ``export``: parcels sent through the export
services and answered by customs' receipts show in the rollups, equal a recomputation from the
export tables, carry their value in CNY at the stored rate of the release day, and are read by
the API for their own parties and regulators, never under the import flow."""

# The export fixtures are imported by name, and pytest hands them in by name.
# ruff: noqa: F811

from __future__ import annotations

import datetime
import itertools
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from declarations.export import lifecycle
from declarations.models import ExportList, ExportListStatus
from declarations.tests.export.conftest import (  # noqa: F401
    XSend,
    export_clients,
    export_parties,
    operator,
    xsend,
)
from finance.models import ExchangeRate
from monitoring import codes
from monitoring.models import DailyGoodsFigures, DailyListFigures, MonthlyListFigures
from monitoring.rollups import EXPORT_STATUS_CHANGED, SUBSCRIBER, figures_learn
from monitoring.tests.test_api import URL, client, params, regulator_client
from monitoring.tests.test_rollups import check, learn, today
from single_window.models import Event, Park
from single_window.roles import COMMERCE_BUREAU, CUSTOMS_OFFICER
from single_window.subscriptions import subscriptions_run
from tests.factories import ParkFactory, Persona

pytestmark = pytest.mark.django_db

S = ExportListStatus
NUMBERS = itertools.count(1)
USD = "502"
# The example list's one item: 59.80 USD.
ITEM_USD = Decimal("59.80")


def declare_parcel(xsend: XSend) -> ExportList:
    """One export parcel (order, payment receipt, waybill, list) with keys of its own, sent
    through the export API: its list matches and is declared."""
    n = next(NUMBERS)
    order_no, logistics_no = f"EXF2026{n:09d}", f"EXFWB2026{n:08d}"
    for kind in ("export_order", "export_receipt", "export_waybill"):
        changes: dict[str, str] = {"guid": str(uuid.uuid4()).upper()}
        if kind != "export_waybill":
            changes["order_no"] = order_no
        if kind == "export_receipt":
            changes["pay_no"] = f"RCVF{n:09d}"
        if kind == "export_waybill":
            changes["logistics_no"] = logistics_no
        assert xsend(kind, **changes).status_code == 201, kind
    answer = xsend(
        "export_list",
        guid=str(uuid.uuid4()).upper(),
        order_no=order_no,
        logistics_no=logistics_no,
        cop_no=f"EXLF{n:09d}",
    )
    assert answer.status_code == 201, answer.content
    export_list = ExportList.objects.get(order_no=order_no)
    assert export_list.status == S.DECLARED
    return export_list


def answer(export_list: ExportList, *codes: str) -> None:
    """Customs' CEB604 receipts, a second apart."""
    at = timezone.now()
    for step, code in enumerate(codes):
        lifecycle.export_list_apply_receipt(
            export_list=export_list, code=code, info="", receipt_time=at + datetime.timedelta(seconds=step + 1)
        )


def usd_rate(rate: str, on: datetime.date | None = None) -> None:
    ExchangeRate.objects.create(currency=USD, rate_date=on or today(), rate=Decimal(rate), source="PBOC")


@pytest.fixture
def figures(xsend: XSend) -> ExportList:
    """Two export parcels: one released (accepted, then released), one rejected."""
    usd_rate("7.1234")
    released = declare_parcel(xsend)
    answer(released, "120", "800")
    answer(declare_parcel(xsend), "100")
    learn()
    return released


def export_rows() -> list[DailyListFigures]:
    return list(DailyListFigures.objects.filter(flow="export"))


def test_export_lists_count_under_the_export_flow_with_their_value_in_cny(figures: ExportList) -> None:
    [row] = export_rows()

    assert (row.declared, row.released, row.rejected, row.customs_reviews) == (2, 1, 1, 0)
    assert (row.trade_mode, row.district, row.port, row.day) == ("9610", "2901", "2901", today())
    assert (row.ebc, row.agent) == (figures.ebc_code, figures.agent_code)
    assert row.park != ""
    assert row.value_cny == (ITEM_USD * Decimal("7.1234")).quantize(Decimal("0.01"))
    assert (row.duty, row.vat, row.consumption_tax) == (Decimal(0), Decimal(0), Decimal(0))
    assert row.clearance_count == 1
    assert row.clearance_seconds >= 0
    assert sum(row.histogram()) == 1
    assert not DailyListFigures.objects.filter(flow="import").exists()


def test_goods_rows_are_by_destination_country_and_the_months_follow(figures: ExportList) -> None:
    [goods] = DailyGoodsFigures.objects.filter(flow="export")

    assert (goods.country, goods.hs_chapter, goods.declared, goods.released) == (USD, "09", 2, 1)
    month = MonthlyListFigures.objects.filter(flow="export").aggregate(declared=Sum("declared"))
    assert month["declared"] == 2


def test_the_export_rollups_equal_a_recomputation_from_the_export_tables(figures: ExportList) -> None:
    report = check()

    assert report.rows_differing == 0, report.differences
    assert report.rows_checked > 0


def test_a_corrupted_export_row_is_caught_and_corrected(figures: ExportList) -> None:
    DailyListFigures.objects.filter(flow="export").update(released=5, value_cny=Decimal("1.00"))

    report = check(correct=True)

    assert report.rows_differing >= 1
    assert {entry["key"]["flow"] for entry in report.differences} == {"export"}
    [row] = export_rows()
    assert row.released == 1
    assert row.value_cny == (ITEM_USD * Decimal("7.1234")).quantize(Decimal("0.01"))
    assert check().rows_differing == 0


def test_a_rate_older_than_its_age_converts_nothing_and_a_rate_recorded_late_is_reconciled_in(
    xsend: XSend,
) -> None:
    usd_rate("6.9000", on=today() - datetime.timedelta(days=settings.FINANCE_RATE_MAX_AGE_DAYS + 1))
    answer(declare_parcel(xsend), "800")
    learn()
    assert (export_rows()[0].released, export_rows()[0].value_cny) == (1, Decimal("0.00"))
    assert check().rows_differing == 0

    usd_rate("7.0000", on=today() - datetime.timedelta(days=3))
    report = check(correct=True)

    assert report.rows_differing >= 1
    assert export_rows()[0].value_cny == Decimal("418.60")
    assert check().rows_differing == 0


def test_the_same_export_event_twice_counts_once(figures: ExportList) -> None:
    event = Event.objects.filter(type=EXPORT_STATUS_CHANGED).order_by("-id").first()
    assert event is not None
    before = export_rows()[0].declared

    figures_learn(event)
    subscriptions_run(names=[SUBSCRIBER], budget_seconds=30)

    assert export_rows()[0].declared == before


def test_the_enterprises_of_the_lists_read_the_export_figures_and_not_under_import(
    figures: ExportList, export_parties: dict[str, Persona], outsider: Persona
) -> None:
    for name in ("ebc", "agent"):
        api = client(export_parties[name].raw_key)
        export = api.get(URL + "summary", params(flow="export"))
        imports = api.get(URL + "summary", params())
        assert export.status_code == 200, export.content
        assert (export.json()["declared"], export.json()["released"], export.json()["rejected"]) == (2, 1, 1)
        assert export.json()["value_cny"] == str((ITEM_USD * Decimal("7.1234")).quantize(Decimal("0.01")))
        assert imports.json()["declared"] == 0

    other = client(outsider.raw_key).get(URL + "summary", params(flow="export"))
    assert other.status_code == 200
    assert other.json()["declared"] == 0


def test_the_export_series_by_destination_country(figures: ExportList, export_parties: dict[str, Persona]) -> None:
    answer_ = client(export_parties["ebc"].raw_key).get(URL + "series", params(flow="export", dimension="country"))

    assert answer_.status_code == 200, answer_.content
    [point] = answer_.json()["points"]
    assert (point["key"], point["declared"], point["released"]) == (USD, 2, 1)


def test_regulators_read_the_export_figures_of_their_district_or_park_only(figures: ExportList, park: Park) -> None:
    other_park = ParkFactory.create(customs_district="5100")
    cases = [
        (regulator_client(CUSTOMS_OFFICER, customs_district="2901"), 2),
        (regulator_client(COMMERCE_BUREAU, park=park), 2),
        (regulator_client(CUSTOMS_OFFICER, customs_district="5100"), 0),
        (regulator_client(COMMERCE_BUREAU, park=other_park), 0),
    ]
    for api, declared in cases:
        reply = api.get(URL + "summary", params(flow="export"))
        assert reply.status_code == 200, reply.content
        assert reply.json()["declared"] == declared


def test_an_unknown_flow_is_refused(figures: ExportList, export_parties: dict[str, Persona]) -> None:
    reply = client(export_parties["ebc"].raw_key).get(URL + "summary", params(flow="transit"))

    assert reply.status_code == 400
    assert reply["Content-Type"].startswith("application/problem+json")
    body = reply.json()
    assert body["code"] == codes.FLOW_INVALID or any(e.get("code") == codes.FLOW_INVALID for e in body["errors"])
