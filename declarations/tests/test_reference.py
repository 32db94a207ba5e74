"""Customs reference data: the seeded sample, ``manage.py import_reference``, the selectors, the admin."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from core.models import AuditEntry
from declarations.intake.examples import DOCUMENTS
from declarations.models import CountryCode, PositiveListEntry, ReferenceSource, TaxRate, UnitCode
from declarations.reference import tables as reference
from single_window.roles import AUDITOR, CUSTOMS_OFFICER

pytestmark = pytest.mark.django_db

DATA = Path(reference.__file__).resolve().parents[1] / "reference_data"
MODELS = (PositiveListEntry, TaxRate, CountryCode, UnitCode)
POSITIVE_HEADER = "tariff_line,name,remark,bonded_only\n"
TAX_HEADER = "tariff_line,name,duty_rate,vat_rate,ct_rate,ct_amount_per_unit,ct_unit,ct_threshold_unit_price\n"
CODE_HEADER = "code,name_zh,name_en\n"
CEB621_SAMPLE_GCODE = "8541401000"  # every item of ../shared/ceb/CEB621Message.xml


@pytest.fixture
def csv_file(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "table.csv"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _import(table: str, path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_reference", table, str(path), *args, stdout=out)
    return out.getvalue()


def _state() -> list[Any]:
    """Every reference row and the audit log's size: unchanged after a refused import."""
    rows: list[Any] = [list(model._default_manager.order_by("pk").values()) for model in MODELS]
    return [*rows, AuditEntry.objects.count()]


# -- The seeded sample --------------------------------------------------------------------------


def test_the_migrations_seed_the_sample_marked_as_sample() -> None:
    for model in MODELS:
        assert model._default_manager.count() >= 30, model
        assert not model._default_manager.exclude(source=ReferenceSource.SAMPLE).exists(), model

    assert CountryCode.objects.get(code="142").name_en == "China"
    assert {"116", "133", "303", "304", "305", "502", "601"} <= set(CountryCode.objects.values_list("code", flat=True))
    assert UnitCode.objects.get(code="007").name_zh == "个"
    assert UnitCode.objects.get(code="035").name_zh == "千克"


def test_the_sample_admits_the_official_and_the_example_messages() -> None:
    inventory = DOCUMENTS["inventory"]
    gcodes = [CEB621_SAMPLE_GCODE] + [item["gcode"] for item in inventory["items"]]
    units = {item[name] for item in inventory["items"] for name in ("unit", "unit1", "unit2") if name in item}
    countries = {inventory["country"]} | {item["country"] for item in inventory["items"]}

    assert all(reference.positive_list_has(gcode) for gcode in gcodes)
    assert all(reference.tax_rate_for(gcode) is not None for gcode in gcodes)
    assert all(reference.unit_exists(code) for code in units)
    assert all(reference.country_exists(code) for code in countries)


def test_the_sample_rates_follow_the_consumption_tax_rules() -> None:
    perfume = TaxRate.objects.get(tariff_line="33030000")
    assert (perfume.vat_rate, perfume.ct_rate, perfume.ct_threshold_unit_price) == (
        Decimal("0.13"),
        Decimal("0.15"),
        Decimal(10000),
    )
    watch = TaxRate.objects.get(tariff_line="91022100")
    assert (watch.ct_rate, watch.ct_threshold_unit_price) == (Decimal("0.20"), Decimal(10000))
    beer = TaxRate.objects.get(tariff_line="22030000")
    assert (beer.ct_rate, beer.ct_amount_per_unit, beer.ct_unit) == (Decimal(0), Decimal("0.25304"), "095")
    rum = TaxRate.objects.get(tariff_line="22084000")
    assert (rum.ct_rate, rum.ct_amount_per_unit, rum.ct_unit) == (Decimal("0.20"), Decimal(1), "095")
    assert TaxRate.objects.get(tariff_line="15092000").vat_rate == Decimal("0.09")
    # Every line on the sample list has a rate.
    lines = set(PositiveListEntry.objects.values_list("tariff_line", flat=True))
    assert lines <= set(TaxRate.objects.values_list("tariff_line", flat=True))


@pytest.mark.parametrize(
    ("table", "filename"),
    [
        ("units", "units.csv"),
        ("countries", "countries.csv"),
        ("positive-list", "positive_list.csv"),
        ("tax-rates", "tax_rates.csv"),
    ],
)
def test_importing_the_sample_files_again_changes_nothing(table: str, filename: str) -> None:
    before = _state()

    out = _import(table, DATA / filename, "--source", "sample")

    assert "0 added, 0 updated" in out
    assert "0 deleted" in out
    assert _state() == before


# -- Importing ----------------------------------------------------------------------------------


def test_an_import_adds_and_updates_rows_and_audits_them(csv_file: Callable[[str], Path]) -> None:
    sample_count = PositiveListEntry.objects.count()
    path = csv_file(
        "# the official list, excerpt\n"
        + POSITIVE_HEADER
        + "33049900,其他美容品 / Other beauty preparations,,0\n"
        + '85171300,"智能手机 / Smartphones, sample",限网购保税,1\n'
    )

    out = _import("positive-list", path)

    assert "2 rows read; 1 added, 1 updated, 0 unchanged, 0 deleted" in out
    added = PositiveListEntry.objects.get(tariff_line="85171300")
    assert (added.name, added.remark, added.bonded_only, added.source) == (
        "智能手机 / Smartphones, sample",
        "限网购保税",
        True,
        ReferenceSource.OFFICIAL,
    )
    updated = PositiveListEntry.objects.get(tariff_line="33049900")
    assert (updated.name, updated.source) == ("其他美容品 / Other beauty preparations", ReferenceSource.OFFICIAL)
    assert PositiveListEntry.objects.count() == sample_count + 1  # nothing deleted without --replace
    entries = AuditEntry.objects.filter(object_type="declarations.positivelistentry").order_by("pk")
    assert [(e.action, e.actor) for e in entries] == [
        (AuditEntry.Action.UPDATE, "system:import_reference"),
        (AuditEntry.Action.CREATE, "system:import_reference"),
    ]
    assert entries[0].after == {"name": "其他美容品 / Other beauty preparations", "source": "official"}


def test_a_tax_rate_import_reads_fractions_units_and_thresholds(csv_file: Callable[[str], Path]) -> None:
    path = csv_file(
        "\ufeff"  # as Excel saves "CSV UTF-8"
        + TAX_HEADER
        + "2208400010,朗姆酒 / Rum in bottles,0.10,0.13,0.20,1,095,\n"
        + "33049900,护肤品 / Skin care,0.01,0.13,0.15,,,10000.5\n"
    )

    _import("tax-rates", path)

    rum = TaxRate.objects.get(tariff_line="2208400010")
    assert (rum.duty_rate, rum.ct_rate, rum.ct_amount_per_unit, rum.ct_unit, rum.ct_threshold_unit_price) == (
        Decimal("0.10"),
        Decimal("0.20"),
        Decimal(1),
        "095",
        None,
    )
    skin_care = TaxRate.objects.get(tariff_line="33049900")
    assert (skin_care.ct_amount_per_unit, skin_care.ct_threshold_unit_price) == (Decimal(0), Decimal("10000.5"))


@pytest.mark.parametrize(
    ("table", "text", "where"),
    [
        (
            "positive-list",
            POSITIVE_HEADER + "33049900,Ok,,0\n1234567,Seven,,0\n",
            "line 3, column tariff_line",
        ),
        ("positive-list", POSITIVE_HEADER + "33049900,Fine,,0\n12345678,,,0\n", "line 3, column name"),
        ("positive-list", POSITIVE_HEADER + "33049900,Fine,,maybe\n", "line 2, column bonded_only"),
        (
            "tax-rates",
            TAX_HEADER + "33049900,Ok,0,0.13,0,0,,\n22030000,Beer,0,1.5,0,0,,\n",
            "line 3, column vat_rate",
        ),
        ("tax-rates", TAX_HEADER + "22030000,Beer,0,13%,0,0,,\n", "line 2, column vat_rate"),
        ("tax-rates", TAX_HEADER + "22030000,Beer,0,0.13,0,0.25,,\n", "line 2, column ct_unit"),
        ("tax-rates", TAX_HEADER + "22030000,Beer,0,0.13,0,0.25,999,\n", "line 2, column ct_unit"),
        ("tax-rates", TAX_HEADER + "22030000,Beer,0,0.13,0,0.123456,095,\n", "line 2, column ct_amount_per_unit"),
        ("tax-rates", TAX_HEADER + "22030000,Beer,0,0.13,0,0,,100\n", "line 2, column ct_threshold_unit_price"),
        ("tax-rates", TAX_HEADER + "220300001,Nine digits,0,0.13,0,0,,\n", "line 2, column tariff_line"),
        ("countries", "# comment\n\n" + CODE_HEADER + "142,中国,China\n14,短,Short\n", "line 5, column code"),
        ("units", CODE_HEADER + "007,个,piece\n035,千克,kilogram,extra\n", "line 3: 4 cells"),
        ("units", "code,name_zh\n007,个\n", "line 1, column name_en: missing from the header"),
        ("units", "code,name_zh,name_en,nmae\n007,个,piece,\n", "line 1, column nmae: not a column of units"),
        ("units", CODE_HEADER + "007,个,piece\n007,个,piece again\n", "line 3, column code: 007 appears again"),
    ],
)
def test_a_bad_row_refuses_the_whole_file_naming_line_and_column(
    csv_file: Callable[[str], Path], table: str, text: str, where: str
) -> None:
    before = _state()

    with pytest.raises(CommandError) as refused:
        _import(table, csv_file(text), "--replace")

    assert "nothing imported" in str(refused.value)
    assert where in str(refused.value)
    assert _state() == before


def test_every_bad_row_is_listed(csv_file: Callable[[str], Path]) -> None:
    text = CODE_HEADER + "1,a,b\n2,a,b\n142,,China\n"

    with pytest.raises(CommandError) as refused:
        _import("countries", csv_file(text))

    message = str(refused.value)
    assert "line 2, column code" in message
    assert "line 3, column code" in message
    assert "line 4, column name_zh: required" in message


def test_an_unknown_table_is_refused(csv_file: Callable[[str], Path]) -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        _import("tariffs", csv_file(CODE_HEADER + "142,中国,China\n"))

    with pytest.raises(reference.ReferenceImportError, match="unknown table 'tariffs'"):
        reference.reference_import(table="tariffs", rows=[], source="official", replace=False)


def test_a_file_without_rows_is_refused_rather_than_emptying_the_table(csv_file: Callable[[str], Path]) -> None:
    before = _state()

    with pytest.raises(CommandError, match="no rows"):
        _import("countries", csv_file("# nothing yet\n" + CODE_HEADER), "--replace")

    assert _state() == before


def test_a_missing_or_undecodable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such file"):
        _import("units", tmp_path / "absent.csv")

    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((CODE_HEADER + "007,个,piece\n").encode("gbk"))
    with pytest.raises(CommandError, match="not utf-8-sig text"):
        _import("units", gbk)
    assert "1 updated" in _import("units", gbk, "--encoding", "gb18030")


def test_replace_deletes_the_rows_not_in_the_file(csv_file: Callable[[str], Path]) -> None:
    count = CountryCode.objects.count()
    path = csv_file(CODE_HEADER + "142,中国,China\n116,日本,Japan\n")

    out = _import("countries", path, "--replace")

    assert f"2 rows read; 0 added, 2 updated, 0 unchanged, {count - 2} deleted" in out
    assert set(CountryCode.objects.values_list("code", "source")) == {("142", "official"), ("116", "official")}
    deletions = AuditEntry.objects.filter(object_type="declarations.countrycode", action=AuditEntry.Action.DELETE)
    assert deletions.count() == count - 2
    assert deletions.get(object_id="502").before == {
        "code": "502",
        "name_zh": "美国",
        "name_en": "United States",
        "source": "sample",
    }


def test_the_source_option_labels_the_rows(csv_file: Callable[[str], Path]) -> None:
    _import("units", csv_file(CODE_HEADER + "999,测试,test unit\n"), "--source", "sample")

    assert UnitCode.objects.get(code="999").source == ReferenceSource.SAMPLE


# -- Selectors ----------------------------------------------------------------------------------


def test_the_positive_list_matches_the_first_8_digits_of_a_goods_code() -> None:
    assert reference.positive_list_has("3304990099")
    assert reference.positive_list_has("33049900")
    assert not reference.positive_list_has("3304990199")  # 33049901 is not a line
    assert not reference.positive_list_has("330499")
    assert not reference.positive_list_has("33049900AB")
    entry = reference.positive_list_entry("0409000000")
    assert entry is not None
    assert entry.bonded_only


def test_an_exact_10_digit_rate_wins_over_its_8_digit_line() -> None:
    TaxRate.objects.create(tariff_line="2203000010", name="Special beer", vat_rate=Decimal("0.09"))

    exact = reference.tax_rate_for("2203000010")
    line = reference.tax_rate_for("2203000090")

    assert exact is not None
    assert (exact.tariff_line, exact.vat_rate) == ("2203000010", Decimal("0.09"))
    assert line is not None
    assert (line.tariff_line, line.vat_rate) == ("22030000", Decimal("0.13"))
    assert reference.tax_rate_for("9999999999") is None
    assert reference.tax_rate_for("beer") is None


def test_the_rates_of_many_goods_codes_are_found_at_once() -> None:
    TaxRate.objects.create(tariff_line="2203000010", name="Special beer", vat_rate=Decimal("0.09"))

    rates = reference.tax_rates_for(["2203000010", "2203000090", "3304990099", "9999999999"])

    assert {code: rate.tariff_line for code, rate in rates.items()} == {
        "2203000010": "2203000010",
        "2203000090": "22030000",
        "3304990099": "33049900",
    }


def test_the_tables_are_read_once_and_then_served_from_the_process() -> None:
    with CaptureQueriesContext(connection) as first:
        reference.tax_rates_for(["2203000090"])
    with CaptureQueriesContext(connection) as then:
        reference.tax_rates_for(["3304990099"])
        reference.positive_list_entries(["3304990099", "2203000090"])
        assert reference.country_exists("142")
        assert reference.unit_exists("035")

    assert len(first) == 4  # the four tables, whole
    assert len(then) == 0


@override_settings(REFERENCE_CACHE_SECONDS=0)
def test_with_no_cache_every_read_goes_to_the_database() -> None:
    reference.tax_rates_for(["2203000090"])

    with CaptureQueriesContext(connection) as queries:
        reference.tax_rates_for(["2203000090"])

    assert len(queries) == 4


def test_a_change_made_without_the_orm_is_seen_within_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(reference.REFERENCE_CACHE, "clock", lambda: now[0])
    reference.REFERENCE_CACHE.reset()
    assert reference.positive_list_has("8517130000") is False
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO declarations_positivelistentry (tariff_line, name, bonded_only, remark, source)"
            " VALUES ('85171300', 'Smartphones', false, '', 'official')"
        )

    now[0] += settings.REFERENCE_CACHE_SECONDS - 1
    assert reference.positive_list_has("8517130000") is False
    now[0] += 1
    assert reference.positive_list_has("8517130000") is True


def test_code_tables_know_their_codes() -> None:
    assert reference.country_exists("142")
    assert not reference.country_exists("999")
    assert reference.unit_exists("035")
    assert not reference.unit_exists("999")


def test_an_edit_is_seen_at_once() -> None:
    assert reference.positive_list_has("8517130000") is False

    PositiveListEntry.objects.create(tariff_line="85171300", name="Smartphones")

    assert reference.positive_list_has("8517130000") is True


# -- Admin --------------------------------------------------------------------------------------

PASSWORD = "a-long-test-password"
TAX_RATES_ADMIN = "/admin/declarations/taxrate/"


def _regulator(username: str, group: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def _tax_rate_form(rate: TaxRate, **changes: str) -> dict[str, str]:
    data = {
        "tariff_line": rate.tariff_line,
        "name": rate.name,
        "duty_rate": str(rate.duty_rate),
        "vat_rate": str(rate.vat_rate),
        "ct_rate": str(rate.ct_rate),
        "ct_amount_per_unit": str(rate.ct_amount_per_unit),
        "ct_unit": rate.ct_unit,
        "ct_threshold_unit_price": "" if rate.ct_threshold_unit_price is None else str(rate.ct_threshold_unit_price),
        "source": rate.source,
        "_save": "Save",
    }
    data.update(changes)
    return data


def test_the_groups_hold_the_reference_permissions() -> None:
    officer = set(Group.objects.get(name=CUSTOMS_OFFICER).permissions.values_list("codename", flat=True))
    auditor = set(Group.objects.get(name=AUDITOR).permissions.values_list("codename", flat=True))

    for model in ("positivelistentry", "taxrate", "countrycode", "unitcode"):
        assert {f"view_{model}", f"change_{model}", f"add_{model}"} <= officer
        assert f"delete_{model}" not in officer
        assert f"view_{model}" in auditor
        assert f"change_{model}" not in auditor


def test_a_customs_officer_changes_a_rate_in_the_admin_and_it_is_audited(client: Client) -> None:
    client.force_login(_regulator("officer", CUSTOMS_OFFICER))
    rate = TaxRate.objects.get(tariff_line="22030000")

    assert client.get(f"{TAX_RATES_ADMIN}?q=2203000000").context["cl"].result_count == 1
    response = client.post(f"{TAX_RATES_ADMIN}{rate.pk}/change/", _tax_rate_form(rate, ct_amount_per_unit="0.22267"))

    assert response.status_code == 302, response.content[:2000]
    rate.refresh_from_db()
    assert rate.ct_amount_per_unit == Decimal("0.22267")
    entry = AuditEntry.objects.get(object_type="declarations.taxrate", object_id=str(rate.pk))
    assert (entry.actor, entry.before, entry.after) == (
        "admin:officer",
        {"ct_amount_per_unit": "0.25304"},
        {"ct_amount_per_unit": "0.22267"},
    )


def test_the_admin_refuses_a_per_unit_tax_without_a_known_unit(client: Client) -> None:
    client.force_login(_regulator("officer", CUSTOMS_OFFICER))
    rate = TaxRate.objects.get(tariff_line="22030000")
    before = _state()

    response = client.post(f"{TAX_RATES_ADMIN}{rate.pk}/change/", _tax_rate_form(rate, ct_unit="999"))

    assert response.status_code == 200
    assert "not a known customs unit code" in response.content.decode()
    assert _state() == before


def test_an_auditor_may_look_at_the_rates_but_not_change_them(client: Client) -> None:
    client.force_login(_regulator("auditor", AUDITOR))
    rate = TaxRate.objects.get(tariff_line="22030000")
    before = _state()

    assert client.get(TAX_RATES_ADMIN).status_code == 200
    response = client.post(f"{TAX_RATES_ADMIN}{rate.pk}/change/", _tax_rate_form(rate, vat_rate="0.01"))

    assert response.status_code == 403
    assert _state() == before
