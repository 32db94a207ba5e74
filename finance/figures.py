"""An enterprise's trade figures, as a financial institution reads them with a financing
application (docs/finance.md, "Trade financing").

Nothing here reads a list: finance never imports ``declarations``. Each figure comes from a
table finance owns, or from credit through ``credit.selectors``:

- **dutiable value by month**: the dutiable value (``TaxBillItem.tax_price``) of the items of
  customs' tax bills (CEB816) naming the enterprise as e-commerce enterprise (``ebc_code``) or
  guarantor (``assure_code``), not voided, by the month (China Standard Time) customs issued
  the bill. Customs bills a list after releasing it, so this is the released value customs
  taxed, in CNY;
- **bills and tax by month**, and **tax paid** over the period: the same bills' count and total
  tax (``finance.selectors.tax_paid``);
- **lists released and returned by month**, and the **return rate**: credit's daily counts of
  the enterprise's lists released and returned after release (``credit.selectors.volumes_of``).
  The rate is returned / released over the period, four decimals; null when nothing was
  released.

The period is the last twelve calendar months, the current one included.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from core.times import CHINA_TZ, china_time
from credit import selectors as credit
from finance import selectors
from finance.models import TaxBill, TaxBillItem, TaxBillStatus
from single_window.models import Enterprise

MONTHS = 12
FEN = Decimal("0.01")
RATE = Decimal("0.0001")


@dataclass(frozen=True)
class MonthFigures:
    month: str  # "2026-11"
    dutiable_value: Decimal
    bills: int
    tax: Decimal
    lists_released: int
    lists_returned: int


@dataclass(frozen=True)
class TradeFigures:
    since: datetime.date
    months: tuple[MonthFigures, ...]
    lists_released: int
    lists_returned: int
    return_rate: Decimal | None
    tax_paid: Decimal


def months_ending(today: datetime.date, count: int = MONTHS) -> list[datetime.date]:
    """The first days of ``count`` calendar months, oldest first, the last being ``today``'s."""
    year, month = today.year, today.month
    found = []
    for _ in range(count):
        found.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def _month_of(value: datetime.datetime | datetime.date) -> datetime.date:
    day = china_time(value).date() if isinstance(value, datetime.datetime) else value
    return day.replace(day=1)


def trade_figures_of(*, enterprise: Enterprise, now: datetime.datetime | None = None) -> TradeFigures:
    """The enterprise's figures for the last twelve months (see the module's docstring). Four
    queries: bills by month, items' value by month, tax paid, credit's daily counts."""
    months = months_ending(china_time(now or timezone.now()).date())
    since_day = months[0]
    since = datetime.datetime.combine(since_day, datetime.time.min, tzinfo=CHINA_TZ)
    codes = enterprise.codes
    named = Q(ebc_code__in=codes) | Q(assure_code__in=codes)

    bills: dict[datetime.date, tuple[int, Decimal]] = {}
    values: dict[datetime.date, Decimal] = {}
    if codes:
        # 1. Bills and their tax, by the month customs issued them.
        for bill_row in (
            TaxBill.objects.filter(named, issued_at__gte=since)
            .exclude(status=TaxBillStatus.VOID)
            .annotate(month=TruncMonth("issued_at", tzinfo=CHINA_TZ))
            .values("month")
            .annotate(count=Count("id"), tax=Sum("tax_total"))
        ):
            bills[_month_of(bill_row["month"])] = (bill_row["count"], bill_row["tax"] or Decimal(0))
        # 2. The items' dutiable value, by the same month.
        for item_row in (
            TaxBillItem.objects.filter(
                Q(bill__ebc_code__in=codes) | Q(bill__assure_code__in=codes), bill__issued_at__gte=since
            )
            .exclude(bill__status=TaxBillStatus.VOID)
            .annotate(month=TruncMonth("bill__issued_at", tzinfo=CHINA_TZ))
            .values("month")
            .annotate(value=Sum("tax_price"))
        ):
            values[_month_of(item_row["month"])] = item_row["value"] or Decimal(0)
    # 3. Credit's counts of lists released and returned, by day.
    volumes: dict[datetime.date, list[int]] = defaultdict(lambda: [0, 0])
    for volume in credit.volumes_of(enterprise=enterprise, since=since_day):
        counts = volumes[_month_of(volume.day)]
        counts[0] += volume.released
        counts[1] += volume.returned

    rows = []
    for month in months:
        count, tax = bills.get(month, (0, Decimal(0)))
        released, returned = volumes.get(month, (0, 0))
        rows.append(
            MonthFigures(
                month=f"{month:%Y-%m}",
                dutiable_value=values.get(month, Decimal(0)).quantize(FEN, rounding=ROUND_HALF_UP),
                bills=count,
                tax=tax.quantize(FEN, rounding=ROUND_HALF_UP),
                lists_released=released,
                lists_returned=returned,
            )
        )
    released_total = sum(row.lists_released for row in rows)
    returned_total = sum(row.lists_returned for row in rows)
    return TradeFigures(
        since=since_day,
        months=tuple(rows),
        lists_released=released_total,
        lists_returned=returned_total,
        return_rate=(
            (Decimal(returned_total) / Decimal(released_total)).quantize(RATE, rounding=ROUND_HALF_UP)
            if released_total
            else None
        ),
        # 4. The tax of the same bills (finance's selector, shared with other readers).
        tax_paid=selectors.tax_paid(enterprise=enterprise, since=since).quantize(FEN, rounding=ROUND_HALF_UP),
    )
