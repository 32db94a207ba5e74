"""Buyers' quotas: reserved when a list is declared, consumed at release, restored on
rejection, cancellation, and returns within 30 days of release (receipt 700, or the value a
return request customs concluded, CEB626 399: ``quota_give_back_returned``).

Two lists of one buyer declared at the same instant must not both fit into one remaining
quota: the buyer's year row is locked (SELECT … FOR UPDATE, with a lock timeout) before it is
read, and a check constraint on the row refuses any overshoot the code might still let by.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from declarations.models import (
    BuyerYearQuota,
    Inventory,
    InventoryReturn,
    InventoryStatus,
    InventoryStatusChange,
    QuotaReservation,
)
from declarations.tax import calculation as tax

LOCK_TIMEOUT = "5s"
RETURN_WINDOW = datetime.timedelta(days=30)
# Moves that end the list's chance of release: its quota goes back (docs/declare-step.md).
GIVE_BACK_ON = frozenset(
    {
        InventoryStatus.MATCH_FAILED,
        InventoryStatus.RISK_REJECTED,
        InventoryStatus.RISK_BLOCKED,
        InventoryStatus.CORRECTION_REQUESTED,
        InventoryStatus.PENDING_DOCUMENTS,
        InventoryStatus.DRAFT,
        InventoryStatus.REJECTED,
        InventoryStatus.CANCELLED,
        InventoryStatus.DELETED,
    }
)
# Every move that changes a reservation: the others (matched, declared, held ...) leave it.
QUOTA_MOVES = GIVE_BACK_ON | {InventoryStatus.RELEASED, InventoryStatus.RETURNED}


def _lock_quota(buyer_id_hash: str, year: int) -> BuyerYearQuota:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    BuyerYearQuota.objects.bulk_create([BuyerYearQuota(buyer_id_hash=buyer_id_hash, year=year)], ignore_conflicts=True)
    return BuyerYearQuota.objects.select_for_update().get(buyer_id_hash=buyer_id_hash, year=year)


def quota_year(at: datetime.datetime | None = None) -> int:
    """The calendar year in China Standard Time."""
    return timezone.localtime(at or timezone.now()).year


def quota_used(*, buyer_id_hash: str, year: int) -> Decimal:
    row = BuyerYearQuota.objects.filter(buyer_id_hash=buyer_id_hash, year=year).first()
    return row.reserved + row.consumed if row else Decimal(0)


# A list's value added to its buyer's year in one statement, only if the year stays within the
# annual limit: the row is created on first use and locked by the update until commit.
_RESERVE_SQL = """
INSERT INTO declarations_buyeryearquota AS quota (buyer_id_hash, year, reserved, consumed)
VALUES (%(buyer)s, %(year)s, %(amount)s, 0)
ON CONFLICT (buyer_id_hash, year)
DO UPDATE SET reserved = quota.reserved + EXCLUDED.reserved
WHERE quota.reserved + quota.consumed + EXCLUDED.reserved <= %(limit)s
RETURNING id, reserved + consumed - %(amount)s
"""


def _reserve_if_within_year(
    *, inventory: Inventory, dutiable_total: Decimal, piece_count: int, existing: QuotaReservation | None
) -> tax.Mode | None:
    """The common case in one conditional statement: a list that holds no reservation, whose
    value fits the buyer's year. None when it does not fit (the caller decides under the row
    lock, and says why)."""
    alone = tax.tax_mode(dutiable_total=dutiable_total, piece_count=piece_count, year_used=Decimal(0))
    if isinstance(alone, tax.Refusal):
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            _RESERVE_SQL,
            {"buyer": inventory.buyer_id_hash, "year": quota_year(), "amount": dutiable_total, "limit": tax.YEAR_LIMIT},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    quota_id, year_used = row
    decision = tax.tax_mode(dutiable_total=dutiable_total, piece_count=piece_count, year_used=year_used)
    assert not isinstance(decision, tax.Refusal)  # noqa: S101 - the statement kept the year within the limit
    if existing is None:
        QuotaReservation.objects.create(
            inventory=inventory, quota_id=quota_id, amount=dutiable_total, state=QuotaReservation.State.RESERVED
        )
    else:
        existing.quota_id, existing.amount, existing.state = quota_id, dutiable_total, QuotaReservation.State.RESERVED
        existing.save(update_fields=["quota", "amount", "state", "updated_at"])
    return decision


def quota_reserve(*, inventory: Inventory, dutiable_total: Decimal, piece_count: int) -> tax.Mode | tax.Refusal:
    """Decide the list against the buyer's quota and, when it fits, reserve its value.

    Runs inside the caller's transaction (the one that declares the list). A list reserved
    before (a re-run of matching) gives its old reservation back first. On PostgreSQL a list
    holding no reservation whose value fits is reserved by one conditional statement; anything
    else is decided under the buyer's row lock.
    """
    assert transaction.get_connection().in_atomic_block  # noqa: S101 - a contract of the caller
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        existing = QuotaReservation.objects.filter(inventory=inventory).first()
        if existing is None or existing.state != QuotaReservation.State.RESERVED:
            fast = _reserve_if_within_year(
                inventory=inventory, dutiable_total=dutiable_total, piece_count=piece_count, existing=existing
            )
            if fast is not None:
                return fast
    quota = _lock_quota(inventory.buyer_id_hash, quota_year())
    previous = QuotaReservation.objects.filter(inventory=inventory, state=QuotaReservation.State.RESERVED).first()
    held = previous.amount if previous and previous.quota_id == quota.pk else Decimal(0)
    decision = tax.tax_mode(
        dutiable_total=dutiable_total, piece_count=piece_count, year_used=quota.reserved + quota.consumed - held
    )
    if isinstance(decision, tax.Refusal):
        return decision
    if previous is not None:
        _give_back(previous)
        quota.refresh_from_db()
    quota.reserved += dutiable_total
    quota.save(update_fields=["reserved"])
    QuotaReservation.objects.update_or_create(
        inventory=inventory,
        defaults={"quota": quota, "amount": dutiable_total, "state": QuotaReservation.State.RESERVED},
    )
    return decision


def _give_back(reservation: QuotaReservation) -> None:
    quota = BuyerYearQuota.objects.select_for_update().get(pk=reservation.quota_id)
    if reservation.state == QuotaReservation.State.RESERVED:
        quota.reserved -= reservation.amount
    elif reservation.state == QuotaReservation.State.CONSUMED:
        quota.consumed -= reservation.amount
    quota.save(update_fields=["reserved", "consumed"])
    reservation.state = QuotaReservation.State.RELEASED
    reservation.save(update_fields=["state", "updated_at"])


def quota_give_back(*, inventory: Inventory) -> bool:
    """Give back what the list holds of its buyer's quota now, whatever its state (a list given
    up in send_failed); False when it held nothing."""
    reservation = (
        QuotaReservation.objects.select_for_update()
        .filter(inventory=inventory, state=QuotaReservation.State.RESERVED)
        .first()
    )
    if reservation is None:
        return False
    _give_back(reservation)
    return True


def inventory_released_at(*, inventory: Inventory) -> datetime.datetime | None:
    """When customs released the list: the returnTime of its applied 800 receipt (or, without
    one, when it was recorded); None if it never was."""
    change = (
        InventoryStatusChange.objects.filter(inventory=inventory, to_status=InventoryStatus.RELEASED, applied=True)
        .order_by("-created_at")
        .first()
    )
    return (change.receipt_time or change.created_at) if change else None


def quota_on_status(*, inventory: Inventory, status: str) -> None:
    """Follow the list's lifecycle: consume at release, give back when the parcel never
    clears or comes back (a return counts only within 30 days of release)."""
    if status not in QUOTA_MOVES:
        return  # the other moves leave the reservation as it is
    reservation = QuotaReservation.objects.select_for_update().filter(inventory=inventory).first()
    if reservation is None or reservation.state == QuotaReservation.State.RELEASED:
        return
    if status == InventoryStatus.RELEASED and reservation.state == QuotaReservation.State.RESERVED:
        quota = BuyerYearQuota.objects.select_for_update().get(pk=reservation.quota_id)
        quota.reserved -= reservation.amount
        quota.consumed += reservation.amount
        quota.save(update_fields=["reserved", "consumed"])
        reservation.state = QuotaReservation.State.CONSUMED
        reservation.save(update_fields=["state", "updated_at"])
    elif status in GIVE_BACK_ON:
        _give_back(reservation)
    elif status == InventoryStatus.RETURNED:
        released_at = inventory_released_at(inventory=inventory)
        within = released_at is None or timezone.now() - released_at <= RETURN_WINDOW
        if within:
            _give_back(reservation)


def quota_give_back_returned(*, inventory_return: InventoryReturn) -> Decimal:
    """Give back to the buyer's annual quota the dutiable value of a return customs concluded
    (CEB626 399), once; the amount given back (0 when it was given back before, or the list
    holds nothing consumed).

    1. The return's own flag is set by compare-and-swap: a repeated 399 (or a second worker)
       finds it set and gives back nothing more.
    2. The buyer's year row is lowered by ONE conditional UPDATE, never below zero.
    3. The list's reservation keeps what is still consumed, so a later cancellation or receipt
       700 gives back only the rest.

    Runs in the caller's transaction (the one applying customs' answer).
    """
    assert transaction.get_connection().in_atomic_block  # noqa: S101 - a contract of the caller
    reservation = (
        QuotaReservation.objects.select_for_update()
        .filter(inventory_id=inventory_return.inventory_id, state=QuotaReservation.State.CONSUMED)
        .first()
    )
    amount = min(inventory_return.dutiable_value, reservation.amount) if reservation is not None else Decimal(0)
    flagged = InventoryReturn.objects.filter(
        pk=inventory_return.pk, status=InventoryReturn.Status.CONCLUDED, quota_given_back=False
    ).update(quota_given_back=True, quota_amount=amount)
    if not flagged:
        return Decimal(0)
    inventory_return.quota_given_back, inventory_return.quota_amount = True, amount
    if reservation is None or amount <= 0:
        return Decimal(0)
    BuyerYearQuota.objects.filter(pk=reservation.quota_id, consumed__gt=0).update(
        consumed=Greatest(F("consumed") - amount, Value(Decimal(0)))
    )
    reservation.amount -= amount
    reservation.save(update_fields=["amount", "updated_at"])
    return amount
