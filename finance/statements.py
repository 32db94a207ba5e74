"""Tax statements: a guarantor's bills of a month as customs moved them.

Per guarantor (the ``assureCode`` on the bills, whose guarantee backs the tax) and calendar
month in China Standard Time. Each bill counts in the month customs issued it; a summary, a
payment (a summary with its payment notice number) or a void counts in the month customs sent
it (CEB818). ``net`` is issued minus voided.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from core.errors import InvalidInput
from finance import codes
from finance.models import TaxBill, TaxBillStatus, TaxBillStatusChange
from single_window.models import Enterprise

CHINA = ZoneInfo("Asia/Shanghai")
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
COMPONENTS = ("customs_tax", "value_added_tax", "consumption_tax", "tax_total")


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime.datetime
    end: datetime.datetime


def period_parse(text: str) -> Period:
    match = PERIOD.match(text or "")
    if match is None:
        raise InvalidInput.for_field(
            "period", codes.STATEMENT_PERIOD_INVALID, _("Give the month as YYYY-MM, for example 2026-11.")
        )
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime.datetime(year, month, 1, tzinfo=CHINA)
    end = datetime.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=CHINA)
    return Period(label=text, start=start, end=end)


@dataclass
class Total:
    count: int = 0
    customs_tax: Decimal = Decimal("0.00")
    value_added_tax: Decimal = Decimal("0.00")
    consumption_tax: Decimal = Decimal("0.00")
    tax_total: Decimal = Decimal("0.00")

    def add(self, bill: TaxBill, sign: int = 1) -> None:
        self.count += sign
        for name in COMPONENTS:
            setattr(self, name, getattr(self, name) + sign * getattr(bill, name))


@dataclass(frozen=True)
class Line:
    """One thing that happened to a bill in the period."""

    at: datetime.datetime
    event: str  # issued, summarised, paid, voided
    bill: TaxBill
    ent_duty_no: str


@dataclass
class Statement:
    period: Period
    guarantor: Enterprise
    lines: list[Line] = field(default_factory=list)
    issued: Total = field(default_factory=Total)
    summarised: Total = field(default_factory=Total)
    paid: Total = field(default_factory=Total)
    voided: Total = field(default_factory=Total)

    @property
    def net(self) -> Total:
        net = Total()
        for name in ("count", *COMPONENTS):
            setattr(net, name, getattr(self.issued, name) - getattr(self.voided, name))
        return net


def statement_of(*, guarantor: Enterprise, period: Period) -> Statement:
    """Two queries: the bills issued in the period, the status changes sent in it."""
    codes_ = guarantor.codes
    statement = Statement(period=period, guarantor=guarantor)
    issued = TaxBill.objects.filter(assure_code__in=codes_, issued_at__gte=period.start, issued_at__lt=period.end)
    for bill in issued.order_by("issued_at", "id"):
        statement.issued.add(bill)
        statement.lines.append(Line(at=bill.issued_at, event="issued", bill=bill, ent_duty_no=""))
    changes = (
        TaxBillStatusChange.objects.filter(
            bill__assure_code__in=codes_,
            applied=True,
            occurred_at__gte=period.start,
            occurred_at__lt=period.end,
            status__in=[TaxBillStatus.SUMMARISED, TaxBillStatus.VOID],
        )
        .select_related("bill")
        .order_by("occurred_at", "id")
    )
    for change in changes:
        if change.bill is None:  # applied changes have their bill
            continue
        bill = change.bill
        if change.status == TaxBillStatus.VOID:
            event, total = "voided", statement.voided
        elif change.ent_duty_no:
            event, total = "paid", statement.paid
        else:
            event, total = "summarised", statement.summarised
        total.add(bill)
        statement.lines.append(Line(at=change.occurred_at, event=event, bill=bill, ent_duty_no=change.ent_duty_no))
    statement.lines.sort(key=lambda line: line.at)
    return statement


CSV_HEADER = (
    "at",
    "event",
    "tax_no",
    "invt_no",
    "cop_no",
    "order_no",
    "customs_tax",
    "value_added_tax",
    "consumption_tax",
    "tax_total",
    "ent_duty_no",
)


def csv_rows(statement: Statement) -> Iterator[tuple[object, ...]]:
    for line in statement.lines:
        bill = line.bill
        yield (
            line.at.astimezone(CHINA).isoformat(),
            line.event,
            bill.tax_no,
            bill.invt_no,
            bill.cop_no,
            bill.order_no,
            *(getattr(bill, name).quantize(Decimal("0.01")) for name in COMPONENTS),
            line.ent_duty_no,
        )
