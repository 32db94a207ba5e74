"""Settlement reconciliation: a payment company's settlement file against its own payments.

A payment company uploads what it settled in a period (``POST /api/v1/finance/settlements``,
CSV or JSON). The single window compares each row with the payments that company declared in
the period (read through the hub, ``single_window.lookups.payments_of``: finance never imports
declarations) and records a report with each mismatch:

- ``missing``: a payment of the uploader in the period the file does not name;
- ``amount_differs``: the row's amount, converted to CNY at the stored rate of the day it was
  paid when it is in another currency (rate and date stored beside it), is not the payment's;
- ``duplicate``: the file names the same transaction again;
- ``unknown``: the row names no payment of the uploader in the period. A transaction of
  another company, one nobody declared, or a row naming the uploader's transaction with
  another order number are all alike: the report never says whether something exists.

The upload is refused whole (400, nothing stored) when any row is bad; every foreign-currency
row is converted before anything is compared, so a missing rate refuses a file the same way
whatever its rows name. The file is kept encrypted for ``FINANCE_SETTLEMENT_RETENTION_DAYS``
(``settlement_files_purge``, a periodic task), the report for good.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core import errors
from core.audit import Actor, audit_record, snapshot
from core.crypto import encrypt_bytes
from core.errors import ApiError, FieldError, InvalidInput
from core.models import AuditEntry
from core.times import CHINA_TZ, parse_ceb_time
from finance import codes, event_types
from finance.currencies import CNY, CURRENCIES
from finance.models import MismatchKind, SettlementFile, SettlementMismatch, SettlementReport
from finance.rates import FEN, Converted, ExchangeRateMissing, RateConverter
from single_window import lookups
from single_window import selectors as registry
from single_window.events import event_publish
from single_window.lookups import PaymentFacts
from single_window.models import Enterprise

# Limits of one upload: a month of one company's payments in one file of at most 10 MiB.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
MAX_PERIOD_DAYS = 31
# Problems listed in one refusal; a file with more is refused with the first of them.
MAX_LISTED_ERRORS = 100

CSV_COLUMNS = ("pay_transaction_id", "order_no", "amount", "currency", "paid_at")
_DIGITS_3 = re.compile(r"[0-9]{3}")


class ContentTooLarge(ApiError):
    status_code = 413
    default_code = errors.CONTENT_TOO_LARGE
    default_detail = _("The settlement file is larger than the limit (10 MiB).")


@dataclass(frozen=True)
class SettlementRow:
    """One checked row: ``line`` is the CSV line, or the JSON row's position from 1."""

    line: int
    pay_transaction_id: str
    order_no: str
    amount: Decimal
    currency: str
    paid_at: datetime.datetime
    converted: Converted


@dataclass(frozen=True)
class SettlementUpload:
    """A checked upload, ready to reconcile: its period, rows and the bytes as they came."""

    period_start: datetime.date
    period_end: datetime.date
    rows: tuple[SettlementRow, ...]
    file_format: str
    content: bytes
    content_type: str


# --- Reading an upload ------------------------------------------------------------------------


class _Problems:
    """Every problem of an upload, collected, then raised at once (``validation_failed``)."""

    def __init__(self) -> None:
        self.found: list[FieldError] = []

    def add(self, field: str | None, code: str, message: str | Promise) -> None:
        if len(self.found) < MAX_LISTED_ERRORS:
            self.found.append(FieldError(field, code, message))

    def raise_any(self) -> None:
        if self.found:
            raise InvalidInput(_("The settlement file has invalid fields."), errors=self.found)


def _period(values: Mapping[str, Any], problems: _Problems) -> tuple[datetime.date, datetime.date] | None:
    days: dict[str, datetime.date] = {}
    for name in ("period_start", "period_end"):
        value = values.get(name)
        if value in (None, ""):
            problems.add(name, errors.REQUIRED, _("This field is required."))
            continue
        try:
            if not isinstance(value, str) or len(value) != len("YYYY-MM-DD"):
                raise ValueError(value)
            days[name] = datetime.date.fromisoformat(value)
        except ValueError:
            problems.add(name, errors.INVALID, _("A date YYYY-MM-DD."))
    if len(days) < 2:
        return None
    start, end = days["period_start"], days["period_end"]
    today = timezone.now().astimezone(CHINA_TZ).date()
    if end < start:
        problems.add("period_end", codes.SETTLEMENT_PERIOD_INVALID, _("The period ends before it starts."))
    elif (end - start).days + 1 > MAX_PERIOD_DAYS:
        problems.add(
            "period_end",
            codes.SETTLEMENT_PERIOD_INVALID,
            _("A settlement file covers at most %(days)s days.") % {"days": MAX_PERIOD_DAYS},
        )
    elif end > today:
        problems.add("period_end", codes.SETTLEMENT_PERIOD_INVALID, _("The period may not end in the future."))
    else:
        return start, end
    return None


def _text(value: Any, field: str, problems: _Problems) -> str | None:
    if value is None or value == "":
        problems.add(field, errors.REQUIRED, _("This field is required."))
        return None
    if not isinstance(value, str) or len(value) > 60:
        problems.add(field, errors.INVALID, _("Text of at most 60 characters."))
        return None
    return value


def _amount(value: Any, field: str, problems: _Problems) -> Decimal | None:
    if value is None or value == "":
        problems.add(field, errors.REQUIRED, _("This field is required."))
        return None
    # A JSON number is refused, as everywhere: no float ever rounds an amount.
    message = _('An amount of 0 or more, as a decimal string with at most 5 decimals ("445.13").')
    if not isinstance(value, str) or not value.isascii():
        problems.add(field, errors.INVALID, message)
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        problems.add(field, errors.INVALID, message)
        return None
    if not amount.is_finite() or amount < 0:
        problems.add(field, errors.INVALID, message)
        return None
    exponent = int(amount.as_tuple().exponent)
    if -exponent > 5 or len(amount.as_tuple().digits) + exponent > 14:
        problems.add(field, errors.INVALID, message)
        return None
    return amount


def _currency(value: Any, field: str, problems: _Problems) -> str | None:
    if value is None or value == "":
        problems.add(field, errors.REQUIRED, _("This field is required."))
        return None
    if not isinstance(value, str) or not _DIGITS_3.fullmatch(value) or value not in CURRENCIES:
        problems.add(
            field,
            codes.SETTLEMENT_CURRENCY_UNKNOWN,
            _("A customs currency code of the finance table (142 CNY, 502 USD...)."),
        )
        return None
    return value


def _paid_at(value: Any, field: str, problems: _Problems) -> datetime.datetime | None:
    if value is None or value == "":
        problems.add(field, errors.REQUIRED, _("This field is required."))
        return None
    message = _("A time YYYYMMDDhhmmss (China Standard Time) or ISO 8601 with its offset.")
    if not isinstance(value, str):
        problems.add(field, errors.INVALID, message)
        return None
    try:
        return parse_ceb_time(value)
    except ValueError:
        pass
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        problems.add(field, errors.INVALID, message)
        return None
    return parsed


def _rows(
    raw_rows: Iterable[tuple[int, str, Any]],
    period: tuple[datetime.date, datetime.date] | None,
    problems: _Problems,
) -> list[SettlementRow]:
    """Each row checked and converted; ``raw_rows`` are (line, field prefix, row)."""
    converter = RateConverter()
    rows: list[SettlementRow] = []
    for line, prefix, raw in raw_rows:
        if not isinstance(raw, Mapping):
            problems.add(prefix, errors.INVALID, _("Each row is an object."))
            continue
        transaction_id = _text(raw.get("pay_transaction_id"), f"{prefix}.pay_transaction_id", problems)
        order_no = _text(raw.get("order_no"), f"{prefix}.order_no", problems)
        amount = _amount(raw.get("amount"), f"{prefix}.amount", problems)
        currency = _currency(raw.get("currency"), f"{prefix}.currency", problems)
        paid_at = _paid_at(raw.get("paid_at"), f"{prefix}.paid_at", problems)
        if paid_at is None:
            continue
        paid_on = paid_at.astimezone(CHINA_TZ).date()
        if period is not None and not period[0] <= paid_on <= period[1]:
            problems.add(
                f"{prefix}.paid_at",
                codes.SETTLEMENT_ROW_OUTSIDE_PERIOD,
                _("The payment time is outside the file's period."),
            )
            continue
        if transaction_id is None or order_no is None or amount is None or currency is None:
            continue
        try:
            converted = converter.convert(amount=amount, currency=currency, on=paid_on)
        except ExchangeRateMissing as exc:
            problems.add(f"{prefix}.currency", codes.EXCHANGE_RATE_MISSING, exc.detail)
            continue
        rows.append(
            SettlementRow(
                line=line,
                pay_transaction_id=transaction_id,
                order_no=order_no,
                amount=amount,
                currency=currency,
                paid_at=paid_at,
                converted=converted,
            )
        )
    return rows


def _check_size(content: bytes) -> None:
    if len(content) > MAX_FILE_BYTES:
        raise ContentTooLarge


def settlement_read_json(*, data: Any, content: bytes) -> SettlementUpload:
    """``{"period_start", "period_end", "rows": [{...}]}`` checked whole; ``InvalidInput``
    listing every problem (fields ``rows[0].amount``...) otherwise."""
    _check_size(content)
    problems = _Problems()
    if not isinstance(data, Mapping):
        raise InvalidInput.for_field(None, errors.INVALID, _("The body is a JSON object."))
    period = _period(data, problems)
    raw_rows = data.get("rows")
    if raw_rows is None:
        problems.add("rows", errors.REQUIRED, _("This field is required."))
        raw_rows = []
    elif not isinstance(raw_rows, list):
        problems.add("rows", errors.INVALID, _("A list of rows."))
        raw_rows = []
    elif len(raw_rows) > MAX_ROWS:
        raise InvalidInput.for_field(
            "rows", codes.SETTLEMENT_TOO_MANY_ROWS, _("At most %(rows)s rows in one file.") % {"rows": MAX_ROWS}
        )
    rows = _rows(((i + 1, f"rows[{i}]", raw) for i, raw in enumerate(raw_rows)), period, problems)
    problems.raise_any()
    assert period is not None  # noqa: S101 - no problem means the period was read
    return SettlementUpload(
        period_start=period[0],
        period_end=period[1],
        rows=tuple(rows),
        file_format="json",
        content=content,
        content_type="application/json",
    )


def settlement_read_csv(*, content: bytes, period: Mapping[str, Any]) -> SettlementUpload:
    """A CSV file (UTF-8, header ``pay_transaction_id,order_no,amount,currency,paid_at`` in any
    order; ``#`` comment lines and blank lines before it skipped) and its period, checked whole.
    A problem's field names the file's line: ``lines[7].amount``."""
    _check_size(content)
    problems = _Problems()
    found_period = _period(period, problems)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput.for_field(
            "file",
            codes.SETTLEMENT_FILE_INVALID,
            _("The file is not UTF-8 text (byte %(byte)s).") % {"byte": exc.start},
        ) from None
    lines = text.splitlines(keepends=True)
    skipped = 0
    while skipped < len(lines) and (not lines[skipped].strip() or lines[skipped].lstrip().startswith("#")):
        skipped += 1
    reader = csv.reader(lines[skipped:])
    try:
        header = [cell.strip() for cell in next(reader)]
    except (StopIteration, csv.Error):
        raise InvalidInput.for_field("file", codes.SETTLEMENT_FILE_INVALID, _("The file has no header line.")) from None
    while header and not header[-1]:
        header.pop()
    if sorted(header) != sorted(CSV_COLUMNS):
        raise InvalidInput.for_field(
            "file",
            codes.SETTLEMENT_FILE_INVALID,
            _("The header names the columns %(columns)s, each once.") % {"columns": ", ".join(CSV_COLUMNS)},
        )
    raw_rows: list[tuple[int, str, Any]] = []
    while True:
        line = skipped + reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            raise InvalidInput.for_field(
                f"lines[{line}]", codes.SETTLEMENT_FILE_INVALID, _("The line is not valid CSV.")
            ) from None
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if len(cells) != len(header):
            problems.add(
                f"lines[{line}]",
                codes.SETTLEMENT_FILE_INVALID,
                _("The line has %(cells)s cells, not %(columns)s.") % {"cells": len(cells), "columns": len(header)},
            )
            continue
        raw_rows.append((line, f"lines[{line}]", dict(zip(header, cells, strict=True))))
        if len(raw_rows) > MAX_ROWS:
            raise InvalidInput.for_field(
                "file", codes.SETTLEMENT_TOO_MANY_ROWS, _("At most %(rows)s rows in one file.") % {"rows": MAX_ROWS}
            )
    rows = _rows(raw_rows, found_period, problems)
    problems.raise_any()
    assert found_period is not None  # noqa: S101 - no problem means the period was read
    return SettlementUpload(
        period_start=found_period[0],
        period_end=found_period[1],
        rows=tuple(rows),
        file_format="csv",
        content=content,
        content_type="text/csv",
    )


# --- Reconciling ------------------------------------------------------------------------------


def _period_bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The period's days in China Standard Time, as [start, end) instants."""
    first = datetime.datetime.combine(start, datetime.time.min, tzinfo=CHINA_TZ)
    after = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=CHINA_TZ)
    return first, after


def _same_amount(row: SettlementRow, payment: PaymentFacts) -> bool:
    """A CNY row is compared as it is; a converted one to the fen, as it was rounded."""
    if row.currency == CNY and payment.currency == CNY:
        return row.amount == payment.amount_paid
    return row.converted.amount_cny == payment.amount_paid.quantize(FEN, rounding=ROUND_HALF_UP)


def _from_row(row: SettlementRow, kind: str, **fields: Any) -> SettlementMismatch:
    return SettlementMismatch(
        kind=kind,
        line=row.line,
        pay_transaction_id=row.pay_transaction_id,
        order_no=row.order_no,
        file_amount=row.amount,
        file_currency=row.currency,
        file_amount_cny=row.converted.amount_cny,
        rate=row.converted.rate,
        rate_date=row.converted.rate_date,
        **fields,
    )


def _recorded(payment: PaymentFacts) -> dict[str, Any]:
    return {
        "ebp_code": payment.ebp_code,
        "ebc_code": payment.ebc_code,
        "recorded_amount": payment.amount_paid,
        "recorded_currency": payment.currency,
        "recorded_pay_time": payment.pay_time,
    }


def _compare(rows: Iterable[SettlementRow], payments: list[PaymentFacts]) -> tuple[list[SettlementMismatch], int]:
    """The mismatches, in file order then the missing payments in pay-time order, and how
    many rows matched a payment exactly."""
    by_transaction = {payment.pay_transaction_id: payment for payment in payments}
    first_line: dict[str, int] = {}
    covered: set[str] = set()
    mismatches: list[SettlementMismatch] = []
    matched = 0
    for row in rows:
        payment = by_transaction.get(row.pay_transaction_id)
        # The uploader's own payment, of the order the row names: else it is unknown.
        known = payment is not None and payment.order_no == row.order_no
        if row.pay_transaction_id in first_line:
            extra = _recorded(payment) if known and payment is not None else {}
            mismatches.append(
                _from_row(row, MismatchKind.DUPLICATE, first_line=first_line[row.pay_transaction_id], **extra)
            )
            continue
        first_line[row.pay_transaction_id] = row.line
        if not known or payment is None:
            mismatches.append(_from_row(row, MismatchKind.UNKNOWN))
            continue
        covered.add(payment.pay_transaction_id)
        if _same_amount(row, payment):
            matched += 1
        else:
            mismatches.append(_from_row(row, MismatchKind.AMOUNT_DIFFERS, **_recorded(payment)))
    mismatches.extend(
        SettlementMismatch(
            kind=MismatchKind.MISSING,
            pay_transaction_id=payment.pay_transaction_id,
            order_no=payment.order_no,
            **_recorded(payment),
        )
        for payment in payments
        if payment.pay_transaction_id not in covered
    )
    return mismatches, matched


def mismatch_data(mismatch: SettlementMismatch) -> dict[str, Any]:
    """A mismatch as the report and the events show it (amounts as decimal strings)."""
    return {
        "kind": mismatch.kind,
        "line": mismatch.line,
        "first_line": mismatch.first_line,
        "pay_transaction_id": mismatch.pay_transaction_id,
        "order_no": mismatch.order_no,
        "ebp_code": mismatch.ebp_code or None,
        "ebc_code": mismatch.ebc_code or None,
        "file_amount": amount_text(mismatch.file_amount),
        "file_currency": mismatch.file_currency or None,
        "file_amount_cny": amount_text(mismatch.file_amount_cny),
        "rate": rate_text(mismatch.rate),
        "rate_date": mismatch.rate_date,
        "recorded_amount": amount_text(mismatch.recorded_amount),
        "recorded_currency": mismatch.recorded_currency or None,
        "recorded_pay_time": mismatch.recorded_pay_time,
    }


def amount_text(value: Decimal | None) -> str | None:
    """An amount with at least two decimals and no trailing zeros beyond them ("12.50", "0.125")."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    whole, _dot, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def rate_text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def kind_counts(mismatches: Iterable[SettlementMismatch]) -> dict[str, int]:
    counted = Counter(m.kind for m in mismatches)
    return {kind: counted.get(kind, 0) for kind in MismatchKind.values}


def _publish(report: SettlementReport, uploader: Enterprise, mismatches: list[SettlementMismatch]) -> None:
    """The uploader is told of its report; the platform and e-commerce enterprise of each order
    with a mismatch of their order's payment (never an unknown row), of those mismatches only."""
    subject = f"settlement:{report.pk}"
    event_publish(
        enterprise=uploader,
        type=event_types.SETTLEMENT_RECONCILED,
        subject=subject,
        payload={
            "report_id": report.pk,
            "period_start": report.period_start,
            "period_end": report.period_end,
            "rows": report.row_count,
            "payments": report.payment_count,
            "matched": report.matched_count,
            "mismatches": kind_counts(mismatches),
        },
    )
    by_party: dict[str, list[SettlementMismatch]] = {}
    for mismatch in mismatches:
        if mismatch.kind == MismatchKind.UNKNOWN or not mismatch.ebp_code:
            continue
        for code in {mismatch.ebp_code, mismatch.ebc_code} - {""}:
            by_party.setdefault(code, []).append(mismatch)
    parties = registry.enterprises_by_codes(by_party)
    told: set[int] = {uploader.pk}
    for code in sorted(by_party):
        party = parties.get(code)
        if party is None or party.pk in told:
            continue
        told.add(party.pk)
        event_publish(
            enterprise=party,
            type=event_types.SETTLEMENT_RECONCILED,
            subject=subject,
            payload={
                "pay_code": uploader.code,
                "period_start": report.period_start,
                "period_end": report.period_end,
                "mismatches": [
                    {
                        name: value
                        for name, value in mismatch_data(m).items()
                        if name not in {"line", "first_line", "recorded_pay_time"}
                    }
                    for m in by_party[code]
                ],
            },
        )


def settlement_reconcile(*, uploader: Enterprise, upload: SettlementUpload, actor: Actor) -> SettlementReport:
    """Reconcile a checked upload against the uploader's payments and store the report.

    1. The uploader's live payments paid in the period (China Standard Time days), through
       the hub's lookup.
    2. Each row, in file order: a transaction already seen is a duplicate; one that is not the
       uploader's payment of the order it names is unknown; else its amount (converted) is
       compared with the payment's. The payments no row covered are missing.
    3. In one transaction: the report, its mismatches, the encrypted file, the audit entry and
       the events (the uploader; the parties of each order with a mismatch).
    """
    start, end = _period_bounds(upload.period_start, upload.period_end)
    payments = lookups.payments_of(pay_code=uploader.code, start=start, end=end)
    mismatches, matched = _compare(upload.rows, payments)
    with transaction.atomic():
        report = SettlementReport.objects.create(
            uploader=uploader,
            period_start=upload.period_start,
            period_end=upload.period_end,
            file_format=upload.file_format,
            file_sha256=hashlib.sha256(upload.content).hexdigest(),
            file_size=len(upload.content),
            row_count=len(upload.rows),
            payment_count=len(payments),
            matched_count=matched,
            mismatch_count=len(mismatches),
        )
        SettlementFile.objects.create(
            report=report,
            content_type=upload.content_type,
            content_encrypted=encrypt_bytes(upload.content, associated_data=file_associated_data(report.pk)),
        )
        for mismatch in mismatches:
            mismatch.report = report
        SettlementMismatch.objects.bulk_create(mismatches, batch_size=1000)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            instance=report,
            after=snapshot(report, extra={"mismatches": kind_counts(mismatches)}),
        )
        _publish(report, uploader, mismatches)
    return report


def file_associated_data(report_id: int) -> bytes:
    """What the file's ciphertext is bound to: moved to another report, it no longer decrypts."""
    return f"finance.settlement_file:{report_id}".encode()


# --- Retention --------------------------------------------------------------------------------


def settlement_files_purge(*, now: datetime.datetime | None = None, limit: int = 1000) -> int:
    """Delete up to ``limit`` uploaded files older than ``FINANCE_SETTLEMENT_RETENTION_DAYS``
    (their reports stay, marked with when); returns how many. Idempotent: a file deleted is
    not found again."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.FINANCE_SETTLEMENT_RETENTION_DAYS)
    with transaction.atomic():
        due = list(
            SettlementFile.objects.select_for_update(skip_locked=True)
            .filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("report_id", flat=True)[:limit]
        )
        if not due:
            return 0
        SettlementFile.objects.filter(report_id__in=due).delete()
        SettlementReport.objects.filter(pk__in=due).update(file_deleted_at=now or timezone.now())
        audit_actor = Actor.system("finance.purge_settlement_files")
        for report in SettlementReport.objects.filter(pk__in=due):
            audit_record(
                actor=audit_actor,
                action=AuditEntry.Action.UPDATE,
                instance=report,
                before={"file": "kept"},
                after={"file": "deleted"},
                reason=f"uploaded file kept {settings.FINANCE_SETTLEMENT_RETENTION_DAYS} days",
            )
    return len(due)


# --- Reads ------------------------------------------------------------------------------------


def settlement_reports_of(*, enterprise: Enterprise) -> QuerySet[SettlementReport]:
    """The reports of the files ``enterprise`` uploaded; nobody else's."""
    return SettlementReport.objects.filter(uploader=enterprise)


def settlement_report_get(*, enterprise: Enterprise, report_id: int) -> SettlementReport | None:
    """One of the enterprise's reports, with its mismatches; None for anyone else's."""
    return settlement_reports_of(enterprise=enterprise).prefetch_related("mismatches").filter(pk=report_id).first()
