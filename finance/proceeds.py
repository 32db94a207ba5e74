"""Export proceeds: each released export list's goods value, converted to CNY.

Finance learns of a release from the event ``export_list.status_changed`` (to ``released``),
handed over by the hub's subscriptions (``single_window.subscriptions``); it never imports
``declarations``. The event's ``goods_values`` (currency -> amount) give one ``ExportProceeds``
row per list and currency, with the seller (``ebc_code``), the list's keys and the day of
release (the event's day, China Standard Time):

- **converted** at finance's rate of that day, or the latest earlier one at most
  ``FINANCE_RATE_MAX_AGE_DAYS`` old (``finance.rates.convert``), rounded half-up to the fen;
- **awaiting a rate** when there is none: stored without CNY, and converted once a rate that
  may stand for its day is stored (after the commit of the admin's save or the import that
  stored it), or by the sweep ``finance.export_proceeds_sweep``.

Each list and currency is stored once (a unique constraint): the copy of the event each party
receives, and an event handed over again, add nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone

from core.times import china_time
from finance.models import ExchangeRate, ExportProceeds
from finance.rates import ExchangeRateMissing, RateConverter
from single_window.models import Event
from single_window.subscriptions import register_subscriber

SUBSCRIBER = "finance-export-proceeds"
STATUS_CHANGED = "export_list.status_changed"
EVENT_TYPES = (STATUS_CHANGED,)
RELEASED = "released"
# Rows converted per transaction by the sweep.
SWEEP_CHUNK = 500


def _amounts(payload: Mapping[str, Any]) -> dict[str, Decimal]:
    """The payload's goods values that are a 3-digit currency and a decimal of at least 0."""
    found: dict[str, Decimal] = {}
    values = payload.get("goods_values")
    if not isinstance(values, Mapping):
        return found
    for currency, text in values.items():
        try:
            amount = Decimal(str(text))
        except InvalidOperation:
            continue
        valid_code = isinstance(currency, str) and len(currency) == 3 and currency.isdigit()
        if valid_code and amount.is_finite() and amount >= 0:
            found[currency] = amount
    return found


def proceeds_learn(event: Event) -> None:
    """The subscriber: store the proceeds of a released list (nothing for any other move).
    Runs in the hub's transaction, in a savepoint of its own."""
    proceeds_record(event)


def proceeds_record(event: Event) -> list[ExportProceeds]:
    """The rows a release event adds (none for any other move, or when its list and currency
    are stored already)."""
    payload = event.payload
    if payload.get("to_status") != RELEASED or not isinstance(payload.get("export_list_id"), int):
        return []
    released_on = china_time(event.created_at).date()
    converter = RateConverter()
    now = timezone.now()
    rows = []
    for currency, amount in sorted(_amounts(payload).items()):
        row = ExportProceeds(
            export_list_id=payload["export_list_id"],
            agent_code=str(payload.get("agent_code") or "")[:18],
            cop_no=str(payload.get("cop_no") or "")[:30],
            invt_no=str(payload.get("invt_no") or "")[:20],
            ebc_code=str(payload.get("ebc_code") or "")[:18],
            trade_mode=str(payload.get("trade_mode") or "")[:4],
            released_on=released_on,
            currency=currency,
            amount=amount,
            source_event_id=event.pk,
        )
        try:
            converted = converter.convert(amount=amount, currency=currency, on=released_on)
        except ExchangeRateMissing:
            pass
        else:
            row.rate, row.rate_date, row.amount_cny, row.converted_at = (
                converted.rate,
                converted.rate_date,
                converted.amount_cny,
                now,
            )
        rows.append(row)
    if not rows:
        return []
    existing = set(
        ExportProceeds.objects.filter(export_list_id=payload["export_list_id"]).values_list("currency", flat=True)
    )
    ExportProceeds.objects.bulk_create(rows, ignore_conflicts=True)
    return [row for row in rows if row.currency not in existing]


def proceeds_convert_awaiting(
    *, currency: str | None = None, since: datetime.date | None = None, after_id: int = 0, limit: int = SWEEP_CHUNK
) -> tuple[int, int, int]:
    """Convert the rows awaiting a rate (of ``currency``, released on ``since`` or later, when
    given), up to ``limit`` of them from the id ``after_id`` on, whose day now has a rate.
    Answers (rows looked at, the last id looked at, rows converted).

    Each row is locked (rows another run holds are skipped) and converted once: the UPDATE
    only touches a row still without CNY.
    """
    converter = RateConverter()
    converted = 0
    waiting_rows = ExportProceeds.objects.filter(amount_cny__isnull=True, pk__gt=after_id)
    if currency is not None:
        waiting_rows = waiting_rows.filter(currency=currency)
    if since is not None:
        waiting_rows = waiting_rows.filter(released_on__gte=since)
    with transaction.atomic():
        waiting = list(waiting_rows.select_for_update(skip_locked=True).order_by("id")[:limit])
        now = timezone.now()
        for row in waiting:
            try:
                result = converter.convert(amount=row.amount, currency=row.currency, on=row.released_on)
            except ExchangeRateMissing:
                continue
            converted += ExportProceeds.objects.filter(pk=row.pk, amount_cny__isnull=True).update(
                amount_cny=result.amount_cny, rate=result.rate, rate_date=result.rate_date, converted_at=now
            )
    return len(waiting), (waiting[-1].pk if waiting else after_id), converted


def proceeds_sweep(*, currency: str | None = None, since: datetime.date | None = None) -> int:
    """Convert every row awaiting a rate that may now be converted, a chunk per transaction;
    how many were. The periodic task runs it for all rows; a stored rate for its currency from
    its day on."""
    total, after_id = 0, 0
    while True:
        looked, after_id, done = proceeds_convert_awaiting(currency=currency, since=since, after_id=after_id)
        total += done
        if looked < SWEEP_CHUNK:
            return total


def _rate_saved(sender: type[ExchangeRate], instance: ExchangeRate, **kwargs: Any) -> None:
    """A rate was stored or corrected: once its transaction commits, the rows of its currency
    released on its day or in the days it may stand for are converted."""
    currency, day = instance.currency, instance.rate_date
    transaction.on_commit(lambda: proceeds_sweep(currency=currency, since=day))


def register() -> None:
    """Called once, from ``FinanceConfig.ready``."""
    register_subscriber(SUBSCRIBER, EVENT_TYPES, proceeds_learn)
    post_save.connect(_rate_saved, sender=ExchangeRate, dispatch_uid="finance.proceeds.rate_saved")
