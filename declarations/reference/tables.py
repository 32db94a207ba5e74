"""Customs reference data: loading the tables from CSV, and reading them.

Loading is shared by ``manage.py import_reference`` and the migration that seeds the sample:
``reference_read_csv`` turns a file's text into numbered rows, ``reference_import`` checks every
row and then writes them all in one transaction, or nothing. The migration passes its historical
model classes (``model_classes``), so the loader never needs the app registry's models.

The selectors read a snapshot of the tables kept in each process a short while (see
"Selectors" below); an edit in the admin or an import empties it everywhere.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

from core.audit import Actor, audit_record, snapshot
from core.models import AuditEntry
from core.process_cache import ProcessCache
from declarations.models import CountryCode, PositiveListEntry, ReferenceSource, TaxRate, UnitCode

POSITIVE_LIST = "positive-list"
TAX_RATES = "tax-rates"
COUNTRIES = "countries"
UNITS = "units"
TABLES = (POSITIVE_LIST, TAX_RATES, COUNTRIES, UNITS)

# How many problems an error message lists before "and N more".
MAX_LISTED_PROBLEMS = 20

_TRUE = {"1", "true", "yes", "y", "是"}
_FALSE = {"", "0", "false", "no", "n", "否"}


# -- Errors and results -----------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """One bad cell: ``line`` is the line of the file (1 is the first), ``column`` its header."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ReferenceImportError(Exception):
    """The file was refused; nothing was written."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        listed = [str(problem) for problem in problems[:MAX_LISTED_PROBLEMS]]
        if len(problems) > MAX_LISTED_PROBLEMS:
            listed.append(f"... and {len(problems) - MAX_LISTED_PROBLEMS} more")
        super().__init__("\n".join(listed))


@dataclass(frozen=True)
class ImportResult:
    table: str
    rows: int
    created: int
    updated: int
    unchanged: int
    deleted: int

    def __str__(self) -> str:
        return (
            f"{self.table}: {self.rows} rows read; {self.created} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.deleted} deleted."
        )


NumberedRow = tuple[int, Mapping[str, str]]


# -- Cell parsers: each returns the value or raises ValueError with what is wrong ---------------


def _text(max_length: int, *, required: bool = True) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if required and not value:
            raise ValueError("required")
        if len(value) > max_length:
            raise ValueError(f"at most {max_length} characters, not {len(value)}")
        return value

    return parse


def _pattern(regex: str, description: str) -> Callable[[str], str]:
    compiled = re.compile(regex)

    def parse(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{description}, not {value!r}")
        return value

    return parse


def _flag(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"1 or 0 (true/false), not {value!r}")


def _decimal(value: str, *, decimal_places: int, max_digits: int) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"a decimal number such as 0.13, not {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"a decimal number such as 0.13, not {value!r}")
    sign_digits_exponent = number.as_tuple()
    exponent = int(sign_digits_exponent.exponent)  # an int for every finite number
    if -exponent > decimal_places:
        raise ValueError(f"at most {decimal_places} decimal places, not {value!r}")
    if len(sign_digits_exponent.digits) + exponent > max_digits - decimal_places:
        raise ValueError(f"too large: {value!r}")
    return number


def _fraction(value: str) -> Decimal:
    """A rate as a fraction below 1 (the model's check); an empty cell is 0."""
    number = _decimal(value or "0", decimal_places=4, max_digits=7)
    if not Decimal(0) <= number < 1:
        raise ValueError(f"a fraction from 0 to below 1 (0.13 for 13%), not {value!r}")
    return number


def _required_fraction(value: str) -> Decimal:
    if not value:
        raise ValueError("required (a fraction, 0.13 for 13%)")
    return _fraction(value)


def _amount(value: str) -> Decimal:
    """CNY, 0 or more; an empty cell is 0."""
    number = _decimal(value or "0", decimal_places=5, max_digits=19)
    if number < 0:
        raise ValueError(f"0 or more, not {value!r}")
    return number


def _optional_price(value: str) -> Decimal | None:
    """CNY above 0, or empty for none."""
    if not value:
        return None
    number = _decimal(value, decimal_places=5, max_digits=19)
    if number <= 0:
        raise ValueError(f"above 0 or empty, not {value!r}")
    return number


_GCODE = re.compile(r"[0-9]{8}(?:[0-9]{2})?")
_tariff_line_8 = _pattern(r"[0-9]{8}", "8 digits")
_tariff_line_8_or_10 = _pattern(r"[0-9]{8}(?:[0-9]{2})?", "8 or 10 digits")
_code_3 = _pattern(r"[0-9]{3}", "3 digits")
_unit_or_empty = _pattern(r"(?:[0-9]{3})?", "a 3-digit customs unit code or empty")


def tax_rate_problems(values: Mapping[str, Any], *, unit_codes: Collection[str]) -> list[tuple[str, str]]:
    """Rules across a tax rate's fields, as (field, message); shared with the admin form.

    A per-unit tax needs its unit, the unit must be a customs unit code, and a price threshold
    only makes sense for a line that has a consumption tax.
    """
    problems: list[tuple[str, str]] = []
    amount = values.get("ct_amount_per_unit") or Decimal(0)
    unit = values.get("ct_unit") or ""
    if amount > 0 and not unit:
        problems.append(("ct_unit", "required when ct_amount_per_unit is above 0"))
    if unit and unit not in unit_codes:
        problems.append(("ct_unit", f"{unit!r} is not a known customs unit code"))
    has_ct = (values.get("ct_rate") or Decimal(0)) > 0 or amount > 0
    if values.get("ct_threshold_unit_price") is not None and not has_ct:
        problems.append(
            ("ct_threshold_unit_price", "a threshold needs a consumption tax (ct_rate or ct_amount_per_unit)")
        )
    for name in ("ct_threshold_unit", "legal_unit1"):
        code = values.get(name) or ""
        if code and code not in unit_codes:
            problems.append((name, f"{code!r} is not a known customs unit code"))
    if values.get("ct_threshold_unit") and values.get("ct_threshold_unit_price") is None:
        problems.append(("ct_threshold_unit", "a threshold unit needs a threshold price"))
    return problems


# -- Tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    model_name: str
    key: str
    columns: Mapping[str, Callable[[str], Any]]
    # Columns a file may leave out (added after the first tables were published): empty.
    optional: frozenset[str] = frozenset()


_SPECS: dict[str, _Table] = {
    POSITIVE_LIST: _Table(
        model_name="PositiveListEntry",
        key="tariff_line",
        columns={
            "tariff_line": _tariff_line_8,
            "name": _text(300),
            "remark": _text(500, required=False),
            "bonded_only": _flag,
        },
    ),
    TAX_RATES: _Table(
        model_name="TaxRate",
        key="tariff_line",
        columns={
            "tariff_line": _tariff_line_8_or_10,
            "name": _text(300),
            "duty_rate": _fraction,
            "vat_rate": _required_fraction,
            "ct_rate": _fraction,
            "ct_amount_per_unit": _amount,
            "ct_unit": _unit_or_empty,
            "ct_threshold_unit_price": _optional_price,
            "ct_threshold_unit": _unit_or_empty,
            "legal_unit1": _unit_or_empty,
        },
        optional=frozenset({"ct_threshold_unit", "legal_unit1"}),
    ),
    COUNTRIES: _Table(
        model_name="CountryCode",
        key="code",
        columns={"code": _code_3, "name_zh": _text(100), "name_en": _text(100)},
    ),
    UNITS: _Table(
        model_name="UnitCode",
        key="code",
        columns={"code": _code_3, "name_zh": _text(50), "name_en": _text(50)},
    ),
}

_MODELS: dict[str, type[models.Model]] = {
    POSITIVE_LIST: PositiveListEntry,
    TAX_RATES: TaxRate,
    COUNTRIES: CountryCode,
    UNITS: UnitCode,
}


def _spec(table: str) -> _Table:
    if table not in _SPECS:
        raise ReferenceImportError([RowProblem(None, None, f"unknown table {table!r}; one of: {', '.join(TABLES)}")])
    return _SPECS[table]


# -- Loading --------------------------------------------------------------------------------


def reference_read_csv(*, table: str, text: str) -> list[NumberedRow]:
    """The rows of a CSV file, each with the number of the line it starts on.

    Comment lines (``#``) and blank lines before the header are skipped; the header must name
    exactly the table's columns, in any order. Cells are stripped of surrounding spaces.
    """
    spec = _spec(table)
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    skipped = 0
    while skipped < len(lines) and (not lines[skipped].strip() or lines[skipped].lstrip().startswith("#")):
        skipped += 1
    reader = csv.reader(lines[skipped:])
    header_line = skipped + 1
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise ReferenceImportError([RowProblem(None, None, "the file has no header line")]) from None
    while header and not header[-1]:  # trailing empty columns, as spreadsheets save them
        header.pop()
    missing = [name for name in spec.columns if name not in header and name not in spec.optional]
    unknown = [name for name in header if name not in spec.columns]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    problems = [RowProblem(header_line, name, "missing from the header") for name in missing]
    problems += [
        RowProblem(header_line, name or "(empty)", f"not a column of {table}; expected {', '.join(spec.columns)}")
        for name in unknown
    ]
    problems += [RowProblem(header_line, name, "appears twice in the header") for name in duplicated]
    if problems:
        raise ReferenceImportError(problems)

    rows: list[NumberedRow] = []
    while True:
        line = skipped + reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ReferenceImportError([RowProblem(line, None, f"not valid CSV: {exc}")]) from None
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if any(cells[len(header) :]):
            problems.append(RowProblem(line, None, f"{len(cells)} cells, more than the {len(header)} columns"))
            continue
        cells += [""] * (len(header) - len(cells))
        rows.append((line, dict(zip(header, cells, strict=False))))
    if problems:
        raise ReferenceImportError(problems)
    return rows


def _parse_rows(
    table: str, spec: _Table, rows: Iterable[NumberedRow], unit_codes: Collection[str]
) -> dict[str, dict[str, Any]]:
    """Every row checked; the values by key, or ReferenceImportError listing every problem."""
    problems: list[RowProblem] = []
    parsed: dict[str, dict[str, Any]] = {}
    first_line: dict[str, int] = {}
    for line, row in rows:
        values: dict[str, Any] = {}
        row_problems: list[RowProblem] = []
        for column, parse in spec.columns.items():
            try:
                values[column] = parse((row.get(column) or "").strip())
            except ValueError as exc:
                row_problems.append(RowProblem(line, column, str(exc)))
        if table == TAX_RATES and not row_problems:
            row_problems += [RowProblem(line, f, m) for f, m in tax_rate_problems(values, unit_codes=unit_codes)]
        problems += row_problems
        key = values.get(spec.key)
        if key is None:
            continue
        if key in first_line:
            problems.append(RowProblem(line, spec.key, f"{key} appears again (first on line {first_line[key]})"))
            continue
        first_line[key] = line
        parsed[key] = values
    if problems:
        raise ReferenceImportError(problems)
    if not parsed:
        # An empty file with --replace would empty the table: never what anyone meant.
        raise ReferenceImportError([RowProblem(None, None, "the file has no rows")])
    return parsed


def reference_import(
    *,
    table: str,
    rows: Iterable[NumberedRow],
    source: str,
    replace: bool,
    model_classes: Mapping[str, type[models.Model]] | None = None,
    actor: Actor | None = None,
) -> ImportResult:
    """Check every row, then add or update each by its key in one transaction.

    1. Each cell is parsed and each row checked (a tax rate's unit against the unit table);
       any problem refuses the whole file, listing line and column of each.
    2. The table's rows are locked, so two imports of one table run one after the other.
    3. Rows not in the table are added, changed ones updated (``source`` included), and with
       ``replace`` the rows missing from the file are deleted.
    With an ``actor`` each addition, change and deletion is written to the audit log.
    """
    spec = _spec(table)
    if source not in ReferenceSource.values:
        raise ReferenceImportError([RowProblem(None, None, f"unknown source {source!r}")])
    classes = model_classes or _MODELS
    model = classes[table]
    manager = model._default_manager
    unit_codes: set[str] = set()
    if table == TAX_RATES:
        unit_codes = set(classes[UNITS]._default_manager.values_list("code", flat=True))
    parsed = _parse_rows(table, spec, rows, unit_codes)
    # A migration passes the model as it was then: columns added since are left out.
    known = {field.name for field in model._meta.get_fields()}
    parsed = {key: {name: value for name, value in values.items() if name in known} for key, values in parsed.items()}

    created = updated = unchanged = deleted = 0
    with transaction.atomic():
        existing = {getattr(obj, spec.key): obj for obj in manager.select_for_update()}
        for key, values in parsed.items():
            values["source"] = source
            obj = existing.get(key)
            if obj is None:
                obj = manager.create(**values)
                created += 1
                if actor is not None:
                    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=obj, after=snapshot(obj))
                continue
            changed = [name for name, value in values.items() if getattr(obj, name) != value]
            if not changed:
                unchanged += 1
                continue
            before = snapshot(obj) if actor is not None else None
            for name in changed:
                setattr(obj, name, values[name])
            obj.save(update_fields=changed)
            updated += 1
            if actor is not None:
                audit_record(
                    actor=actor, action=AuditEntry.Action.UPDATE, instance=obj, before=before, after=snapshot(obj)
                )
        if replace:
            for key, obj in existing.items():
                if key in parsed:
                    continue
                before = snapshot(obj) if actor is not None else None
                pk = obj.pk
                obj.delete()
                obj.pk = pk
                deleted += 1
                if actor is not None:
                    audit_record(actor=actor, action=AuditEntry.Action.DELETE, instance=obj, before=before)
    return ImportResult(
        table=table, rows=len(parsed), created=created, updated=updated, unchanged=unchanged, deleted=deleted
    )


def reference_import_csv(
    *,
    table: str,
    text: str,
    source: str,
    replace: bool,
    model_classes: Mapping[str, type[models.Model]] | None = None,
    actor: Actor | None = None,
) -> ImportResult:
    """``reference_read_csv`` then ``reference_import``."""
    rows = reference_read_csv(table=table, text=text)
    return reference_import(
        table=table, rows=rows, source=source, replace=replace, model_classes=model_classes, actor=actor
    )


# -- Selectors ------------------------------------------------------------------------------
#
# The four tables are read whole into an immutable snapshot, kept in each process at most
# ``REFERENCE_CACHE_SECONDS`` (``core.process_cache``): a change saved through the ORM (an
# import, the admin) empties every process's snapshot, this one at once and the others within
# about ``REFERENCE_CACHE_CHECK_SECONDS`` while Redis answers. Validation of a document reads no
# reference row from the database.

REFERENCE_CACHE = ProcessCache(
    name="reference",
    seconds=lambda: float(settings.REFERENCE_CACHE_SECONDS),
    check_seconds=lambda: float(settings.REFERENCE_CACHE_CHECK_SECONDS),
)


@dataclass(frozen=True)
class ReferenceSnapshot:
    """The reference tables as one read saw them. The rows are shared between callers: read
    them, never change or save them."""

    positive_list: Mapping[str, PositiveListEntry]  # by 8-digit tariff line
    tax_rates: Mapping[str, TaxRate]  # by tariff line, 10 or 8 digits
    countries: frozenset[str]
    units: frozenset[str]
    # code -> (Chinese name, English name), for pages that show a code with its name.
    country_names: Mapping[str, tuple[str, str]]
    unit_names: Mapping[str, tuple[str, str]]


def _load_snapshot() -> ReferenceSnapshot:
    countries = {code: (zh, en) for code, zh, en in CountryCode.objects.values_list("code", "name_zh", "name_en")}
    units = {code: (zh, en) for code, zh, en in UnitCode.objects.values_list("code", "name_zh", "name_en")}
    return ReferenceSnapshot(
        positive_list=MappingProxyType({entry.tariff_line: entry for entry in PositiveListEntry.objects.all()}),
        tax_rates=MappingProxyType({rate.tariff_line: rate for rate in TaxRate.objects.all()}),
        countries=frozenset(countries),
        units=frozenset(units),
        country_names=MappingProxyType(countries),
        unit_names=MappingProxyType(units),
    )


def reference_snapshot() -> ReferenceSnapshot:
    """The reference tables, from this process's snapshot (four queries when it has none)."""
    snapshot: ReferenceSnapshot = REFERENCE_CACHE.fetch("tables", _load_snapshot)
    return snapshot


def reference_changed(**_signal: Any) -> None:
    """A reference row changed: every process reads the tables again (``post_save`` and
    ``post_delete`` receiver of the four models)."""
    REFERENCE_CACHE.changed()


def register() -> None:
    """Empty the snapshots when a reference row is saved or deleted (``DeclarationsConfig.ready``)."""
    for model in (PositiveListEntry, TaxRate, CountryCode, UnitCode):
        post_save.connect(reference_changed, sender=model, dispatch_uid=f"reference-changed-save-{model.__name__}")
        post_delete.connect(reference_changed, sender=model, dispatch_uid=f"reference-changed-delete-{model.__name__}")


def positive_list_entry(gcode: str) -> PositiveListEntry | None:
    """The positive-list line of a goods code: its first 8 digits."""
    if not _GCODE.fullmatch(gcode):
        return None
    return reference_snapshot().positive_list.get(gcode[:8])


def positive_list_entries(gcodes: Iterable[str]) -> dict[str, PositiveListEntry]:
    """The positive-list lines of many goods codes, by 8-digit tariff line; codes that are not
    on the list are left out."""
    lines = reference_snapshot().positive_list
    return {code[:8]: lines[code[:8]] for code in gcodes if _GCODE.fullmatch(code) and code[:8] in lines}


def positive_list_has(gcode: str) -> bool:
    """Whether a goods code (10 digits, or an 8-digit line) is on the positive list."""
    return positive_list_entry(gcode) is not None


def tax_rates_for(gcodes: Iterable[str]) -> dict[str, TaxRate]:
    """The rates of many goods codes, by goods code; codes without a rate are left out.

    A rate for the exact 10-digit code wins over the rate of its 8-digit line.
    """
    rates = reference_snapshot().tax_rates
    found: dict[str, TaxRate] = {}
    for code in gcodes:
        if not _GCODE.fullmatch(code):
            continue
        rate = rates.get(code) or rates.get(code[:8])
        if rate is not None:
            found[code] = rate
    return found


def tax_rate_for(gcode: str) -> TaxRate | None:
    """The rate of a goods code: its exact 10-digit code first, else its 8-digit line."""
    return tax_rates_for([gcode]).get(gcode)


def country_exists(code: str) -> bool:
    return code in reference_snapshot().countries


def unit_exists(code: str) -> bool:
    return code in reference_snapshot().units


def country_names(code: str) -> tuple[str, str] | None:
    """(Chinese, English) name of a customs country code; None for a code not in the table."""
    return reference_snapshot().country_names.get(code)


def unit_names(code: str) -> tuple[str, str] | None:
    """(Chinese, English) name of a customs unit code; None for a code not in the table."""
    return reference_snapshot().unit_names.get(code)
