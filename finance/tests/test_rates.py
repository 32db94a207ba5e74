from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import override_settings

from core.models import AuditEntry
from finance import codes
from finance.models import ExchangeRate
from finance.rates import Converted, ExchangeRateMissing, convert

NOV_24 = datetime.date(2026, 11, 24)
NOV_25 = datetime.date(2026, 11, 25)

pytestmark = pytest.mark.django_db


def _rate(currency: str, day: datetime.date, rate: str) -> ExchangeRate:
    return ExchangeRate.objects.create(currency=currency, rate_date=day, rate=Decimal(rate), source="test")


# --- Conversion --------------------------------------------------------------------------------


def test_it_converts_at_the_rate_of_the_day_and_says_which() -> None:
    _rate("502", NOV_24, "7.1000")
    _rate("502", NOV_25, "7.1234")

    converted = convert(amount=Decimal("62.50"), currency="502", on=NOV_25)

    assert converted == Converted(
        amount_cny=Decimal("445.21"), rate=Decimal("7.1234"), rate_date=NOV_25, currency="502"
    )


def test_a_day_without_a_rate_takes_the_latest_earlier_one() -> None:
    _rate("116", NOV_24 - datetime.timedelta(days=3), "0.047")
    _rate("116", NOV_24, "0.04782")

    converted = convert(amount=Decimal(10000), currency="116", on=NOV_25)

    assert (converted.amount_cny, converted.rate, converted.rate_date) == (
        Decimal("478.20"),
        Decimal("0.04782"),
        NOV_24,
    )


def test_it_rounds_half_up_to_the_fen() -> None:
    _rate("502", NOV_25, "7.1220")

    assert convert(amount=Decimal("62.50"), currency="502", on=NOV_25).amount_cny == Decimal("445.13")  # 445.125


def test_cny_converts_at_one_as_it_is() -> None:
    converted = convert(amount=Decimal("445.13000"), currency="142", on=NOV_25)

    assert converted == Converted(amount_cny=Decimal("445.13000"), rate=Decimal(1), rate_date=NOV_25, currency="142")


def test_a_missing_rate_is_refused_with_a_stable_code() -> None:
    _rate("300", NOV_25, "7.70")  # another currency's rate does not stand in

    with pytest.raises(ExchangeRateMissing) as caught:
        convert(amount=Decimal(1), currency="502", on=NOV_25)

    assert caught.value.code == codes.EXCHANGE_RATE_MISSING == "exchange_rate_missing"
    assert "502" in str(caught.value.detail)


@override_settings(FINANCE_RATE_MAX_AGE_DAYS=3)
def test_a_rate_older_than_the_max_age_does_not_stand_in() -> None:
    _rate("502", NOV_25 - datetime.timedelta(days=4), "7.10")

    with pytest.raises(ExchangeRateMissing):
        convert(amount=Decimal(1), currency="502", on=NOV_25)
    assert convert(amount=Decimal(1), currency="502", on=NOV_25 - datetime.timedelta(days=1)).rate == Decimal("7.10")


def test_a_later_rate_never_converts_an_earlier_day() -> None:
    _rate("502", NOV_25, "7.12")

    with pytest.raises(ExchangeRateMissing):
        convert(amount=Decimal(1), currency="502", on=NOV_24)


def test_the_database_refuses_a_rate_of_zero_a_second_rate_of_a_day_and_a_cny_rate() -> None:
    _rate("502", NOV_25, "7.12")
    for currency, day, rate in (("502", NOV_24, "0"), ("502", NOV_25, "7.13"), ("142", NOV_25, "1")):
        with pytest.raises(IntegrityError), transaction.atomic():
            _rate(currency, day, rate)


# --- import_reference exchange-rates -------------------------------------------------------------


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rates.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_command_imports_a_file_and_a_second_import_of_a_day_updates_it(tmp_path: Path) -> None:
    first = _file(
        tmp_path,
        "# PBOC central parity\ncurrency,rate_date,rate,source\n502,2026-11-25,7.1234,PBOC\n300,2026-11-25,7.7012,\n",
    )
    call_command("import_reference", "exchange-rates", first)

    assert {(r.currency, r.rate_date, r.rate, r.source) for r in ExchangeRate.objects.all()} == {
        ("502", NOV_25, Decimal("7.1234"), "PBOC"),
        ("300", NOV_25, Decimal("7.7012"), "official"),
    }

    again = _file(tmp_path, "currency,rate_date,rate\n502,2026-11-25,7.1301\n502,2026-11-26,7.1288\n")
    call_command("import_reference", "exchange-rates", again, "--source", "sample")

    usd = {r.rate_date: r.rate for r in ExchangeRate.objects.filter(currency="502")}
    assert usd == {NOV_25: Decimal("7.1301"), datetime.date(2026, 11, 26): Decimal("7.1288")}
    assert ExchangeRate.objects.count() == 3
    assert AuditEntry.objects.filter(actor="system:import_reference").count() == 4  # 3 added, 1 updated


def test_one_bad_row_refuses_the_whole_file_naming_its_line(tmp_path: Path) -> None:
    bad = _file(
        tmp_path,
        "currency,rate_date,rate\n502,2026-11-25,7.1234\n300,2026-11-25,-1\n999,2026-11-25,1.0\n142,2026-11-25,1\n"
        "502,2026-11-25,7.2\n116,25/11/2026,0.047\n",
    )

    with pytest.raises(CommandError) as caught:
        call_command("import_reference", "exchange-rates", bad)

    message = str(caught.value)
    assert "nothing imported" in message
    for expected in (
        "line 3, column rate",
        "line 4, column currency",
        "line 5, column currency",
        "line 6: 502 on 2026-11-25 appears again (first on line 2)",
        "line 7, column rate_date",
    ):
        assert expected in message
    assert not ExchangeRate.objects.exists()


def test_a_header_without_the_rate_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="column rate: missing from the header"):
        call_command("import_reference", "exchange-rates", _file(tmp_path, "currency,rate_date\n502,2026-11-25\n"))


def test_replace_does_not_apply_to_exchange_rates(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--replace"):
        call_command(
            "import_reference",
            "exchange-rates",
            _file(tmp_path, "currency,rate_date,rate\n502,2026-11-25,7\n"),
            "--replace",
        )
    assert not ExchangeRate.objects.exists()
