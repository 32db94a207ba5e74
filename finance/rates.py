"""Exchange rates: converting an amount to CNY at the day's rate, and importing the table.

``convert`` is what every other part uses: the rate of the day asked for, or the latest
earlier one not older than ``FINANCE_RATE_MAX_AGE_DAYS``. An amount converted with it is stored
with the rate and the rate's date beside it (``Converted`` carries all three).

``exchange_rates_import_csv`` is ``manage.py import_reference exchange-rates FILE``: every row
is checked first, one bad row refuses the file (naming its line), then every row is added, or
updated when the currency already has a rate that day, in one transaction, each audited.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.audit import Actor, audit_record, snapshot
from core.errors import ApiError
from core.models import AuditEntry
from finance import codes
from finance.currencies import CNY, CURRENCIES
from finance.models import ExchangeRate
from finance.models.rates import RATE_DECIMAL_PLACES, RATE_MAX_DIGITS

FEN = Decimal("0.01")
ONE = Decimal(1)


@dataclass(frozen=True)
class Converted:
    """``amount`` in ``currency`` is ``amount_cny`` at ``rate`` (CNY per unit) of ``rate_date``."""

    amount_cny: Decimal
    rate: Decimal
    rate_date: datetime.date
    currency: str


class ExchangeRateMissing(ApiError):
    """No rate of the currency on the day or in the days before it that may stand for it."""

    status_code = 400
    default_code = codes.EXCHANGE_RATE_MISSING
    default_detail = _("No exchange rate of this currency is recorded for that day or the days before it.")


def rate_on(*, currency: str, on: datetime.date) -> ExchangeRate | None:
    """The rate of ``on``, else the latest earlier one at most ``FINANCE_RATE_MAX_AGE_DAYS`` old."""
    oldest = on - datetime.timedelta(days=settings.FINANCE_RATE_MAX_AGE_DAYS)
    return (
        ExchangeRate.objects.filter(currency=currency, rate_date__lte=on, rate_date__gte=oldest)
        .order_by("-rate_date")
        .first()
    )


def convert(*, amount: Decimal, currency: str, on: datetime.date) -> Converted:
    """``amount`` of ``currency`` in CNY, as of the day ``on``.

    CNY (142) converts at 1 and keeps its amount as it is; any other currency is multiplied by
    its rate (``rate_on``) and rounded half-up to the fen. ``ExchangeRateMissing``
    (``exchange_rate_missing``) when there is no rate that may stand for the day.
    """
    if currency == CNY:
        return Converted(amount_cny=amount, rate=ONE, rate_date=on, currency=currency)
    rate = rate_on(currency=currency, on=on)
    if rate is None:
        raise ExchangeRateMissing(
            _("No exchange rate of currency %(currency)s is recorded for %(day)s or the %(days)s days before it.")
            % {"currency": currency, "day": on.isoformat(), "days": settings.FINANCE_RATE_MAX_AGE_DAYS}
        )
    amount_cny = (amount * rate.rate).quantize(FEN, rounding=ROUND_HALF_UP)
    return Converted(amount_cny=amount_cny, rate=rate.rate, rate_date=rate.rate_date, currency=currency)


class RateConverter:
    """``convert`` for many amounts at once: each (currency, day) is looked up once."""

    def __init__(self) -> None:
        self._rates: dict[tuple[str, datetime.date], ExchangeRate | None] = {}

    def convert(self, *, amount: Decimal, currency: str, on: datetime.date) -> Converted:
        if currency == CNY:
            return convert(amount=amount, currency=currency, on=on)
        key = (currency, on)
        if key not in self._rates:
            self._rates[key] = rate_on(currency=currency, on=on)
        rate = self._rates[key]
        if rate is None:
            return convert(amount=amount, currency=currency, on=on)  # raises, with its message
        amount_cny = (amount * rate.rate).quantize(FEN, rounding=ROUND_HALF_UP)
        return Converted(amount_cny=amount_cny, rate=rate.rate, rate_date=rate.rate_date, currency=currency)


# --- Import ------------------------------------------------------------------------------------

EXCHANGE_RATES = "exchange-rates"
COLUMNS = ("currency", "rate_date", "rate", "source")
REQUIRED_COLUMNS = ("currency", "rate_date", "rate")
MAX_LISTED_PROBLEMS = 20


class ExchangeRateImportError(Exception):
    """The file was refused; nothing was written. ``problems`` are "line N, column C: ..." texts."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = problems[:MAX_LISTED_PROBLEMS]
        if len(problems) > MAX_LISTED_PROBLEMS:
            listed = [*listed, f"... and {len(problems) - MAX_LISTED_PROBLEMS} more"]
        super().__init__("\n".join(listed))


@dataclass(frozen=True)
class RatesImportResult:
    rows: int
    created: int
    updated: int
    unchanged: int

    def __str__(self) -> str:
        return (
            f"{EXCHANGE_RATES}: {self.rows} rows read; {self.created} added, {self.updated} updated, "
            f"{self.unchanged} unchanged."
        )


@dataclass(frozen=True)
class RateRow:
    line: int
    currency: str
    rate_date: datetime.date
    rate: Decimal
    source: str


def _parse_rate(text: str) -> Decimal:
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"a decimal number such as 7.1234, not {text!r}") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"a number above 0, not {text!r}")
    exponent = int(rate.as_tuple().exponent)
    if -exponent > RATE_DECIMAL_PLACES:
        raise ValueError(f"at most {RATE_DECIMAL_PLACES} decimal places, not {text!r}")
    if len(rate.as_tuple().digits) + exponent > RATE_MAX_DIGITS - RATE_DECIMAL_PLACES:
        raise ValueError(f"too large: {text!r}")
    return rate


def _parse_row(line: int, row: Mapping[str, str], default_source: str) -> tuple[RateRow | None, list[str]]:
    problems: list[str] = []
    currency = row.get("currency", "")
    if currency == CNY:
        problems.append(f"line {line}, column currency: 142 (CNY) converts at 1 and has no rate")
    elif currency not in CURRENCIES:
        problems.append(
            f"line {line}, column currency: not a currency code of the table (finance/currencies.py): {currency!r}"
        )
    rate_date = None
    try:
        rate_date = datetime.date.fromisoformat(row.get("rate_date", ""))
    except ValueError:
        problems.append(f"line {line}, column rate_date: a date YYYY-MM-DD, not {row.get('rate_date', '')!r}")
    rate = None
    try:
        rate = _parse_rate(row.get("rate", ""))
    except ValueError as exc:
        problems.append(f"line {line}, column rate: {exc}")
    source = row.get("source", "") or default_source
    if len(source) > 100:
        problems.append(f"line {line}, column source: at most 100 characters, not {len(source)}")
    if problems or rate_date is None or rate is None:
        return None, problems
    return RateRow(line=line, currency=currency, rate_date=rate_date, rate=rate, source=source), []


def _header_problems(header: list[str], line: int) -> list[str]:
    while header and not header[-1]:  # trailing empty columns, as spreadsheets save them
        header.pop()
    problems = [
        f"line {line}, column {name}: missing from the header" for name in REQUIRED_COLUMNS if name not in header
    ]
    problems += [
        f"line {line}, column {name or '(empty)'}: not a column; expected {', '.join(COLUMNS)}"
        for name in header
        if name not in COLUMNS
    ]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    problems += [f"line {line}, column {name}: appears twice" for name in duplicated]
    return problems


def _numbered_rows(
    reader: Any, skipped: int, header: list[str], problems: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """The data rows with the line each starts on; blank rows skipped, bad ones in ``problems``."""
    while True:
        line = skipped + reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(f"line {line}: not valid CSV: {exc}")
            return
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if any(cells[len(header) :]):
            problems.append(f"line {line}: {len(cells)} cells, more than the {len(header)} columns")
            continue
        yield line, dict(zip(header, cells, strict=False))


def exchange_rates_read_csv(*, text: str, default_source: str = "") -> list[RateRow]:
    """Every row of the file checked: the rows, or ``ExchangeRateImportError`` naming each
    problem by line. Comment (``#``) and blank lines before the header are skipped."""
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    skipped = 0
    while skipped < len(lines) and (not lines[skipped].strip() or lines[skipped].lstrip().startswith("#")):
        skipped += 1
    reader = csv.reader(lines[skipped:])
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise ExchangeRateImportError(["the file has no header line"]) from None
    except csv.Error as exc:
        raise ExchangeRateImportError([f"line {skipped + 1}: not valid CSV: {exc}"]) from None
    problems = _header_problems(header, skipped + 1)
    if problems:
        raise ExchangeRateImportError(problems)
    rows: list[RateRow] = []
    first_line: dict[tuple[str, datetime.date], int] = {}
    for line, cells in _numbered_rows(reader, skipped, header, problems):
        parsed, row_problems = _parse_row(line, cells, default_source)
        problems += row_problems
        if parsed is None:
            continue
        key = (parsed.currency, parsed.rate_date)
        if key in first_line:
            problems.append(
                f"line {line}: {parsed.currency} on {parsed.rate_date} appears again (first on line {first_line[key]})"
            )
            continue
        first_line[key] = line
        rows.append(parsed)
    if problems:
        raise ExchangeRateImportError(problems)
    if not rows:
        raise ExchangeRateImportError(["the file has no rows"])
    return rows


def exchange_rates_import_csv(*, text: str, actor: Actor, default_source: str = "") -> RatesImportResult:
    """Check the whole file, then add or update each (currency, day) in one transaction.

    A row whose cell ``source`` is empty (or a file without the column) takes ``default_source``.
    A currency that already has a rate that day is updated: a corrected file is imported again.
    """
    rows = exchange_rates_read_csv(text=text, default_source=default_source)
    created = updated = unchanged = 0
    with transaction.atomic():
        # Locked, so two imports of the same days run one after the other.
        candidates = ExchangeRate.objects.select_for_update().filter(
            currency__in={row.currency for row in rows}, rate_date__in={row.rate_date for row in rows}
        )
        existing = {(rate.currency, rate.rate_date): rate for rate in candidates}
        for row in rows:
            current = existing.get((row.currency, row.rate_date))
            if current is None:
                rate = ExchangeRate.objects.create(
                    currency=row.currency, rate_date=row.rate_date, rate=row.rate, source=row.source
                )
                audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=rate, after=snapshot(rate))
                created += 1
                continue
            if current.rate == row.rate and current.source == row.source:
                unchanged += 1
                continue
            before = snapshot(current)
            current.rate, current.source = row.rate, row.source
            current.save(update_fields=["rate", "source", "updated_at"])
            audit_record(
                actor=actor, action=AuditEntry.Action.UPDATE, instance=current, before=before, after=snapshot(current)
            )
            updated += 1
    return RatesImportResult(rows=len(rows), created=created, updated=updated, unchanged=unchanged)
