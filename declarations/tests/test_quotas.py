"""Buyers' quotas (DOMAIN.md section 4): reserved when the list is declared, consumed at
release, given back on rejection, cancellation and a return within 30 days; 5,000 CNY a
transaction (one piece may exceed it, at full tax), 26,000 CNY a calendar year in China
Standard Time. The figures are worked out here by hand.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from declarations.clearance import lifecycle
from declarations.models import (
    BuyerYearQuota,
    Inventory,
    InventoryStatus,
    InventoryStatusChange,
    QuotaReservation,
    RuleResult,
    StatusChangeSource,
    TaxEstimate,
)
from declarations.tests.helpers import Send
from declarations.tests.parcels import (
    INFANT_FOOD,
    Goods,
    assert_declared,
    buyer_hash,
    failed_results,
    formula,
    list_of,
    parcel,
    quota,
    receipt,
    reservation,
    submit,
)

pytestmark = pytest.mark.usefixtures("parties")

CST = ZoneInfo("Asia/Shanghai")
S = InventoryStatus
State = QuotaReservation.State
# The example parcel: goods 398.00 and freight 10.00.
EXAMPLE_DUTIABLE = Decimal("408.00")


def declare(send: Send, n: int = 1, goods: list[Goods] | None = None) -> Inventory:
    docs = parcel(n, goods=goods)
    submit(send, docs)
    return list_of(docs)


def used_before(consumed: str, year: int = 2026) -> None:
    """What the buyer has already used this year (lists released earlier)."""
    BuyerYearQuota.objects.create(buyer_id_hash=buyer_hash(), year=year, consumed=Decimal(consumed))


def year_figures(year: int = 2026) -> tuple[Decimal, Decimal]:
    row = quota(year=year)
    assert row is not None
    return row.reserved, row.consumed


def held(inventory: Inventory) -> tuple[Decimal, str]:
    row = reservation(inventory)
    assert row is not None
    return row.amount, row.state


# --- Following the list ----------------------------------------------------------------------------


def test_the_quota_is_reserved_when_the_list_is_declared(send: Send) -> None:
    inventory = declare(send)

    assert_declared(inventory)
    assert held(inventory) == (EXAMPLE_DUTIABLE, State.RESERVED)
    assert year_figures() == (EXAMPLE_DUTIABLE, Decimal(0))
    assert BuyerYearQuota.objects.count() == 1


def test_release_consumes_the_reservation(send: Send) -> None:
    inventory = declare(send)
    now = timezone.now()

    receipt(inventory, "120", now)
    assert held(inventory) == (EXAMPLE_DUTIABLE, State.RESERVED)
    receipt(inventory, "800", now + datetime.timedelta(minutes=5))

    assert inventory.status == S.RELEASED
    assert held(inventory) == (EXAMPLE_DUTIABLE, State.CONSUMED)
    assert year_figures() == (Decimal(0), EXAMPLE_DUTIABLE)


@pytest.mark.parametrize("codes", [["100"], ["120", "100"], ["120", "500", "100"]], ids="-".join)
def test_rejection_gives_the_quota_back(send: Send, codes: list[str]) -> None:
    inventory = declare(send)
    now = timezone.now()

    for minutes, code in enumerate(codes):
        receipt(inventory, code, now + datetime.timedelta(minutes=minutes))

    assert inventory.status == S.REJECTED
    assert held(inventory) == (EXAMPLE_DUTIABLE, State.RELEASED)
    assert year_figures() == (Decimal(0), Decimal(0))


def test_cancellation_after_release_gives_the_quota_back(send: Send) -> None:
    inventory = declare(send)
    now = timezone.now()
    receipt(inventory, "120", now)
    receipt(inventory, "800", now + datetime.timedelta(minutes=5))

    lifecycle.inventory_transition(
        inventory=inventory, to=S.CANCELLED, source=StatusChangeSource.SINGLE_WINDOW, note="CEB623 accepted"
    )

    assert Inventory.objects.get(pk=inventory.pk).status == S.CANCELLED
    assert held(inventory) == (EXAMPLE_DUTIABLE, State.RELEASED)
    assert year_figures() == (Decimal(0), Decimal(0))


@pytest.mark.parametrize(("days", "given_back"), [(1, True), (29, True), (30, True), (31, False), (90, False)], ids=str)
def test_a_return_gives_the_quota_back_only_within_30_days_of_release(send: Send, days: int, given_back: bool) -> None:
    inventory = declare(send)
    released = timezone.now()
    receipt(inventory, "120", released - datetime.timedelta(minutes=5))
    receipt(inventory, "800", released)

    later = released + datetime.timedelta(days=days) - datetime.timedelta(seconds=5)
    with time_machine.travel(later, tick=False):
        receipt(inventory, "700", later)

    assert Inventory.objects.get(pk=inventory.pk).status == S.RETURNED
    if given_back:
        assert held(inventory) == (EXAMPLE_DUTIABLE, State.RELEASED)
        assert year_figures() == (Decimal(0), Decimal(0))
    else:
        assert held(inventory) == (EXAMPLE_DUTIABLE, State.CONSUMED)
        assert year_figures() == (Decimal(0), EXAMPLE_DUTIABLE)


def test_the_database_refuses_a_year_over_26000() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        BuyerYearQuota.objects.create(
            buyer_id_hash=buyer_hash(), year=2026, consumed=Decimal(20000), reserved=Decimal("6000.01")
        )

    assert not BuyerYearQuota.objects.exists()


# --- The limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("used", "declared"),
    [("24500.00", True), ("24500.01", False), ("25000", False)],
    ids=["reaching-26000", "one-fen-over", "well-over"],
)
def test_the_year_may_reach_26000_but_not_cross_it(send: Send, used: str, declared: bool) -> None:
    used_before(used)

    inventory = declare(send, goods=[formula("1490.00")])  # 1,490.00 + 10.00 freight = 1,500.00

    if declared:
        assert_declared(inventory)
        assert year_figures() == (Decimal(1500), Decimal(used))
        return
    assert inventory.status == S.MATCH_FAILED
    year_total = Decimal(used) + 1500
    assert [(r[0], r[1], Decimal(r[2]), Decimal(r[3]), r[4]) for r in failed_results(inventory)] == [
        ("quota_annual", "dutiable_value", year_total, Decimal(26000), "-621018")
    ]
    assert year_figures() == (Decimal(0), Decimal(used))
    assert not QuotaReservation.objects.exists()
    assert not TaxEstimate.objects.exists()


@pytest.mark.parametrize(
    ("goods", "pieces"),
    [
        ([formula("2500.00", qty="2")], 2),  # one line, two pieces: 5,010.00
        ([formula("2600.00"), Goods(INFANT_FOOD, "婴儿米粉 Infant cereal", "1", "2600.00")], 2),  # 5,210.00
    ],
    ids=["two-of-one-line", "one-each-of-two-lines"],
)
def test_a_transaction_over_5000_of_several_pieces_is_refused(send: Send, goods: list[Goods], pieces: int) -> None:
    inventory = declare(send, goods=goods)

    dutiable = sum((g.total for g in goods), Decimal(0)) + 10
    assert pieces > 1
    assert dutiable > 5000
    assert inventory.status == S.MATCH_FAILED
    assert [(r[0], r[1], Decimal(r[2]), Decimal(r[3]), r[4]) for r in failed_results(inventory)] == [
        ("quota_single_transaction", "dutiable_value", dutiable, Decimal(5000), "-621005")
    ]
    assert quota() is None or year_figures() == (Decimal(0), Decimal(0))
    assert not QuotaReservation.objects.exists()


def test_a_transaction_of_exactly_5000_is_within_limits(send: Send) -> None:
    inventory = declare(send, goods=[formula("2495.00", qty="2")])  # 4,990.00 + 10.00

    assert_declared(inventory)
    assert TaxEstimate.objects.get(inventory=inventory).mode == TaxEstimate.Mode.WITHIN_LIMITS
    assert year_figures() == (Decimal(5000), Decimal(0))


def test_one_piece_over_5000_comes_in_at_full_tax_and_counts_toward_the_year(send: Send) -> None:
    used_before("20000")

    inventory = declare(send, goods=[Goods(INFANT_FOOD, "婴儿米粉 Infant cereal", "1", "5990.00")])

    assert_declared(inventory)
    # By hand, duty 15% and VAT 13% on 6,000.00 (5,990.00 + 10.00): duty 900.00,
    # VAT (6,000.00 + 900.00) x 13% = 897.00, no consumption tax.
    estimate = TaxEstimate.objects.get(inventory=inventory)
    assert estimate.mode == TaxEstimate.Mode.FULL_TAX
    assert (estimate.dutiable_total, estimate.customs_tax, estimate.value_added_tax, estimate.consumption_tax) == (
        Decimal("6000.00"),
        Decimal("900.00"),
        Decimal("897.00"),
        Decimal("0.00"),
    )
    assert estimate.tax_total == Decimal("1797.00")
    assert held(inventory) == (Decimal(6000), State.RESERVED)
    assert year_figures() == (Decimal(6000), Decimal(20000))


def test_one_piece_over_5000_is_refused_when_the_year_would_cross_26000(send: Send) -> None:
    used_before("20000.01")

    inventory = declare(send, goods=[Goods(INFANT_FOOD, "婴儿米粉 Infant cereal", "1", "5990.00")])

    assert inventory.status == S.MATCH_FAILED
    assert [(r[0], r[4]) for r in failed_results(inventory)] == [("quota_annual", "-621018")]
    assert year_figures() == (Decimal(0), Decimal("20000.01"))
    assert not TaxEstimate.objects.exists()


# --- The year in China Standard Time -----------------------------------------------------------------


def test_the_year_is_the_calendar_year_in_china_standard_time(send: Send) -> None:
    # 2027-01-01 00:30 in Hangzhou is still 2026-12-31 in UTC.
    with time_machine.travel(datetime.datetime(2026, 12, 31, 23, 30, tzinfo=CST), tick=False):
        before_midnight = declare(send, 1)
    with time_machine.travel(datetime.datetime(2027, 1, 1, 0, 30, tzinfo=CST), tick=False):
        after_midnight = declare(send, 2)

    assert_declared(before_midnight)
    assert_declared(after_midnight)
    assert year_figures(2026) == (EXAMPLE_DUTIABLE, Decimal(0))
    assert year_figures(2027) == (EXAMPLE_DUTIABLE, Decimal(0))
    first, second = reservation(before_midnight), reservation(after_midnight)
    assert first is not None
    assert second is not None
    assert (first.quota.year, second.quota.year) == (2026, 2027)


# --- A rejected list declared again ----------------------------------------------------------------


def test_a_rejected_list_changed_and_declared_again_reserves_its_quota_once(send: Send) -> None:
    docs = parcel(1)
    submit(send, docs)
    inventory = list_of(docs)
    receipt(inventory, "100", timezone.now())
    assert year_figures() == (Decimal(0), Decimal(0))

    changed = {**docs["inventory"], "app_type": "2", "app_time": "20261125150000", "gross_weight": "1.3"}
    response = send("inventory", changed)

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["version"]) == ("declared", 2)
    assert_declared(inventory)
    assert held(inventory) == (EXAMPLE_DUTIABLE, State.RESERVED)
    assert QuotaReservation.objects.count() == 1
    assert year_figures() == (EXAMPLE_DUTIABLE, Decimal(0))
    assert sorted(set(RuleResult.objects.filter(inventory=inventory).values_list("run", flat=True))) == [1, 2]
    assert TaxEstimate.objects.filter(inventory=inventory).count() == 1
    assert list(InventoryStatusChange.objects.filter(inventory=inventory).values_list("from_status", "to_status")) == [
        ("", S.PENDING_DOCUMENTS),
        (S.PENDING_DOCUMENTS, S.MATCHED),
        (S.MATCHED, S.DECLARED),
        (S.DECLARED, S.REJECTED),
        (S.REJECTED, S.PENDING_DOCUMENTS),
        (S.PENDING_DOCUMENTS, S.MATCHED),
        (S.MATCHED, S.DECLARED),
    ]

    # Released this time: the year holds the list once.
    receipt(inventory, "120", timezone.now() + datetime.timedelta(minutes=1))
    receipt(inventory, "800", timezone.now() + datetime.timedelta(minutes=2))
    assert year_figures() == (Decimal(0), EXAMPLE_DUTIABLE)
