"""Bonded stock in the declare step: logistics judges ``ListFacts`` of 1210 lists (it never
sees a list) and keeps each item's figures with one conditional UPDATE per change."""

from __future__ import annotations

import datetime
import itertools
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from core.audit import Actor
from core.errors import ApiError
from logistics import stock
from logistics.models import StockItem, StockMovement, StockReceipt, StockReservation, StockShortfall
from logistics.models.stock import MovementKind, ReservationState
from single_window import declare
from single_window.declare import ItemFacts, ListFacts, ListRef, Verdict
from single_window.models import Enterprise, Event, Role
from tests.factories import EnterpriseFactory

AREA = "3301960007"
AGENT = "3301960005"
EMS_NO = "T2901W000001"
_IDS = itertools.count(800_000)
ACTOR = Actor.system("test")

pytestmark = pytest.mark.django_db


def line(
    record_no: str, qty: str, *, unit: str = "007", qty1: str = "0.8", unit1: str = "035", gnum: int = 1
) -> ItemFacts:
    return ItemFacts(
        gnum=gnum,
        gcode="1901101000",
        item_record_no=record_no,
        item_name="婴儿配方奶粉",
        qty=Decimal(qty),
        unit=unit,
        qty1=Decimal(qty1),
        unit1=unit1,
        qty2=None,
        unit2="",
        price=Decimal(100),
        total_price=Decimal(100) * Decimal(qty),
        currency="142",
        country="142",
    )


def facts(*items: ItemFacts, trade_mode: str = "1210", ems_no: str = EMS_NO, ref: ListRef | None = None) -> ListFacts:
    return ListFacts(
        ref=ref or ListRef(next(_IDS), 1),
        cop_no="COP1",
        trade_mode=trade_mode,
        ebp_code="3301960001",
        ebc_code="3301960002",
        agent_code=AGENT,
        assure_code="3301960002",
        logistics_code="3301960004",
        area_code=AREA if trade_mode == "1210" else "",
        ems_no=ems_no if trade_mode == "1210" else "",
        customs_code="2901",
        port_code="2901",
        park_code="",
        buyer_hash="b",
        consignee_phone_hash="p",
        consignee_address_hash="a",
        gross_weight=Decimal(1),
        net_weight=Decimal(1),
        freight=Decimal(0),
        insured_fee=Decimal(0),
        items=items or (line("REC-0001", "2"),),
        tax=None,
        declared_at=timezone.now(),
    )


@pytest.fixture
def operator(db: None) -> Enterprise:
    enterprise: Enterprise = EnterpriseFactory.create(customs_code=AREA, roles=[Role.AREA], name="示例保税仓")
    return enterprise


@pytest.fixture
def agent(db: None) -> Enterprise:
    enterprise: Enterprise = EnterpriseFactory.create(customs_code=AGENT, roles=[Role.AGENT])
    return enterprise


def receive(operator: Enterprise, *lines: tuple[str, str], unit: str = "007", reference: str = "") -> StockReceipt:
    return stock.receipt_record(
        operator=operator,
        ems_no=EMS_NO,
        reference=reference or f"GRN-{next(_IDS)}",
        received_at=timezone.now(),
        lines=[stock.ReceiptLine(no, "1901101000", "婴儿配方奶粉", unit, Decimal(qty)) for no, qty in lines],
        actor=ACTOR,
    )


def figures(record_no: str = "REC-0001") -> tuple[Decimal, Decimal, Decimal]:
    item = StockItem.objects.get(item_record_no=record_no)
    return item.on_hand, item.reserved, item.available


def test_a_receipt_opens_the_book_for_its_operator_in_its_park(operator: Enterprise) -> None:
    receive(operator, ("REC-0001", "10"), ("REC-0002", "5"))
    receive(operator, ("REC-0001", "2.5"))

    assert figures() == (Decimal("12.5"), Decimal(0), Decimal("12.5"))
    item = StockItem.objects.get(item_record_no="REC-0001")
    assert (item.book.area_code, item.book.park_code) == (AREA, operator.park.code if operator.park else "")
    assert list(StockMovement.objects.filter(kind=MovementKind.RECEIPT).values_list("on_hand_change", flat=True)) == [
        Decimal("2.5"),
        Decimal(5),
        Decimal(10),
    ]


def test_a_listed_1210_list_passes_and_reserves_each_item_once(operator: Enterprise) -> None:
    receive(operator, ("REC-0001", "10"), ("REC-0002", "5"))
    listed = facts(line("REC-0001", "3"), line("REC-0002", "1", gnum=2), line("REC-0001", "1", gnum=3))

    first = stock.list_reserve(facts=listed)
    again = stock.list_reserve(facts=listed)

    assert (first.verdict, again.verdict) == (Verdict.PASS, Verdict.PASS)
    assert figures("REC-0001") == (Decimal(10), Decimal(4), Decimal(6))
    assert figures("REC-0002") == (Decimal(5), Decimal(1), Decimal(4))
    assert StockReservation.objects.filter(state=ReservationState.RESERVED).count() == 2
    assert StockMovement.objects.filter(kind=MovementKind.RESERVE).count() == 2


def test_a_list_in_another_trade_mode_passes_without_touching_stock(operator: Enterprise) -> None:
    receive(operator, ("REC-0001", "1"))

    decision = stock.list_reserve(facts=facts(line("REC-0001", "5"), trade_mode="9610"))

    assert decision.verdict == Verdict.PASS
    assert figures() == (Decimal(1), Decimal(0), Decimal(1))
    assert not StockReservation.objects.exists()


def test_a_short_item_holds_the_list_reserves_nothing_and_tells_operator_and_agent(
    operator: Enterprise, agent: Enterprise
) -> None:
    receive(operator, ("REC-0001", "10"), ("REC-0002", "1"))

    decision = stock.list_reserve(facts=facts(line("REC-0001", "3"), line("REC-0002", "2", gnum=2)))

    assert decision.verdict == Verdict.HOLD
    (reason,) = decision.reasons
    assert reason.code == "stock_insufficient"
    assert dict(reason.evidence) == {
        "ems_no": EMS_NO,
        "item_record_no": "REC-0002",
        "unit": "007",
        "required": "2",
        "available": "1",
    }
    # All or none: the first item's reservation was undone with the short one.
    assert figures("REC-0001") == (Decimal(10), Decimal(0), Decimal(10))
    assert figures("REC-0002") == (Decimal(1), Decimal(0), Decimal(1))
    assert not StockReservation.objects.exists()
    assert not StockMovement.objects.filter(kind=MovementKind.RESERVE).exists()
    shortfall = StockShortfall.objects.get()
    assert (shortfall.code, shortfall.item_record_no, shortfall.required) == (
        "stock_insufficient",
        "REC-0002",
        Decimal(2),
    )
    told = set(
        Event.objects.filter(type="logistics.stock_insufficient").values_list("enterprise__customs_code", flat=True)
    )
    assert told == {AREA, AGENT}


def test_an_unknown_book_or_item_holds_the_list(operator: Enterprise) -> None:
    unknown_book = stock.list_reserve(facts=facts(ems_no="T2901W999999"))
    receive(operator, ("REC-0001", "1"))
    unknown_item = stock.list_reserve(facts=facts(line("REC-9999", "1")))

    assert [r.code for r in unknown_book.reasons] == ["stock_item_unknown"]
    assert [r.code for r in unknown_item.reasons] == ["stock_item_unknown"]
    assert dict(unknown_item.reasons[0].evidence)["item_record_no"] == "REC-9999"
    assert (unknown_book.verdict, unknown_item.verdict) == (Verdict.HOLD, Verdict.HOLD)


def test_a_line_in_another_unit_reserves_its_legal_quantity_when_that_is_the_book_s_unit(operator: Enterprise) -> None:
    receive(operator, ("REC-0001", "10"), unit="035")  # kept in kilograms

    by_weight = stock.list_reserve(facts=facts(line("REC-0001", "2", unit="007", qty1="1.6", unit1="035")))
    neither = stock.list_reserve(facts=facts(line("REC-0001", "2", unit="007", qty1="2", unit1="011")))

    assert by_weight.verdict == Verdict.PASS
    assert figures() == (Decimal(10), Decimal("1.6"), Decimal("8.4"))
    assert [r.code for r in neither.reasons] == ["stock_unit_mismatch"]


def test_customs_release_takes_the_goods_out(operator: Enterprise) -> None:
    receive(operator, ("REC-0001", "10"))
    listed = facts(line("REC-0001", "3"))
    stock.list_reserve(facts=listed)

    stock.list_consume(ref=listed.ref)
    stock.list_consume(ref=listed.ref)

    assert figures() == (Decimal(7), Decimal(0), Decimal(7))
    assert StockReservation.objects.get().state == ReservationState.CONSUMED
    movement = StockMovement.objects.get(kind=MovementKind.CONSUME)
    assert (movement.on_hand_change, movement.reserved_change) == (Decimal(-3), Decimal(-3))


@pytest.mark.parametrize(
    "outcome",
    ["rejected", "risk_rejected", "risk_blocked", "match_failed", "pending_documents", "deleted", "send_failed"],
)
def test_a_failure_before_release_gives_the_reservation_back(operator: Enterprise, outcome: str) -> None:
    receive(operator, ("REC-0001", "10"))
    listed = facts(line("REC-0001", "3"))
    stock.list_reserve(facts=listed)

    stock.list_release(ref=listed.ref, outcome=outcome)
    stock.list_release(ref=listed.ref, outcome=outcome)

    assert figures() == (Decimal(10), Decimal(0), Decimal(10))
    reservation = StockReservation.objects.get()
    assert (reservation.state, reservation.outcome) == (ReservationState.RELEASED, outcome)
    assert StockMovement.objects.filter(kind=MovementKind.RELEASE).count() == 1


@pytest.mark.parametrize("outcome", ["cancelled", "returned"])
def test_goods_of_a_cancelled_or_returned_list_come_back_on_hand(operator: Enterprise, outcome: str) -> None:
    receive(operator, ("REC-0001", "10"))
    listed = facts(line("REC-0001", "3"))
    stock.list_reserve(facts=listed)
    stock.list_consume(ref=listed.ref)

    stock.list_release(ref=listed.ref, outcome=outcome)

    assert figures() == (Decimal(10), Decimal(0), Decimal(10))
    assert StockMovement.objects.get(kind=MovementKind.RETURN).on_hand_change == Decimal(3)
    assert StockReservation.objects.get().state == ReservationState.RELEASED


def test_a_held_list_is_judged_again_after_goods_come_in(
    operator: Enterprise, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: object
) -> None:
    receive(operator, ("REC-0001", "1"))
    held = facts(line("REC-0001", "3"))
    assert stock.list_reserve(facts=held).verdict == Verdict.HOLD
    asked: list[int] = []
    monkeypatch.setattr(declare, "reconsider", lambda *, inventory_id: asked.append(inventory_id))

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        receive(operator, ("REC-0001", "5"))

    assert asked == [held.ref.inventory_id]
    assert stock.list_reserve(facts=held).verdict == Verdict.PASS
    assert StockShortfall.objects.get().resolved_at is not None


def test_a_receipt_is_recorded_once_per_reference_and_keeps_each_item_s_unit(operator: Enterprise) -> None:
    receive(operator, ("REC-0001", "1"), reference="GRN-1")

    with pytest.raises(ApiError) as duplicate:
        receive(operator, ("REC-0001", "1"), reference="GRN-1")
    with pytest.raises(ApiError) as other_unit:
        receive(operator, ("REC-0001", "1"), unit="035")

    assert (duplicate.value.code, duplicate.value.extra["existing_id"]) == (
        "stock_receipt_duplicate",
        StockReceipt.objects.get().pk,
    )
    assert [(e.field, e.code) for e in other_unit.value.errors] == [("lines[0].unit", "stock_unit_mismatch")]
    assert figures() == (Decimal(1), Decimal(0), Decimal(1))


def test_a_count_is_compared_with_the_book(operator: Enterprise, tmp_path: Path) -> None:
    receive(operator, ("REC-0001", "10"), ("REC-0002", "5"))
    count = tmp_path / "count.csv"
    count.write_text("item_record_no,qty\nREC-0001,10\nREC-0002,4\nREC-0003,1\n", encoding="utf-8")

    with pytest.raises(CommandError) as differs:
        call_command("stock_count", str(count), "--ems-no", EMS_NO)

    assert "2 items differ" in str(differs.value)
    book = StockItem.objects.get(item_record_no="REC-0001").book
    assert [
        (d.item_record_no, d.difference)
        for d in stock.count_compare(book=book, counted=stock.count_read(count.read_text()))
    ] == [
        ("REC-0002", Decimal(-1)),
        ("REC-0003", Decimal(1)),
    ]


def test_a_csv_file_is_imported_as_one_receipt(operator: Enterprise, tmp_path: Path) -> None:
    good = tmp_path / "goods-in.csv"
    good.write_text(
        "item_record_no,gcode,name,unit,qty\nREC-0001,1901101000,奶粉,007,10\nREC-0002,1901101000,奶粉,007,2.5\n",
        encoding="utf-8",
    )

    call_command("import_stock", str(good), "--ems-no", EMS_NO, "--reference", "GRN-CSV-1", "--area-code", AREA)

    receipt = StockReceipt.objects.get()
    assert (receipt.reference, receipt.lines.count()) == ("GRN-CSV-1", 2)
    assert figures("REC-0002") == (Decimal("2.5"), Decimal(0), Decimal("2.5"))


@pytest.mark.parametrize(
    ("row", "line_no"),
    [
        ("REC-0002,1901101000,奶粉,007,-1", 3),
        ("REC-0002,19011010,奶粉,007,1", 3),
        ("REC-0002,1901101000,奶粉,7,1", 3),
        ("REC-0002,1901101000,奶粉,007", 3),
    ],
)
def test_a_bad_row_refuses_the_whole_file_with_its_line(
    operator: Enterprise, tmp_path: Path, row: str, line_no: int
) -> None:
    bad = tmp_path / "goods-in.csv"
    bad.write_text(f"item_record_no,gcode,name,unit,qty\nREC-0001,1901101000,奶粉,007,10\n{row}\n", encoding="utf-8")

    with pytest.raises(CommandError) as refused:
        call_command("import_stock", str(bad), "--ems-no", EMS_NO, "--reference", "GRN-CSV-2", "--area-code", AREA)

    assert f"line {line_no}" in str(refused.value)
    assert not StockReceipt.objects.exists()
    assert not StockItem.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_declarations_never_reserve_more_than_is_on_hand() -> None:
    """Twenty lists of 3 units of one item, and of 1 of another, against 10 and 100 on hand,
    each in its own thread and transaction: three pass, and nothing is over-reserved."""
    operator = EnterpriseFactory.create(customs_code=AREA, roles=[Role.AREA])
    receive(operator, ("REC-0001", "10"), ("REC-0002", "100"))
    lists = [facts(line("REC-0002", "1", gnum=1), line("REC-0001", "3", gnum=2)) for _ in range(20)]
    verdicts: list[str] = []
    barrier = threading.Barrier(len(lists))
    lock = threading.Lock()

    def declare_one(listed: ListFacts) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                verdict = stock.list_reserve(facts=listed).verdict
            with lock:
                verdicts.append(verdict)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=declare_one, args=(listed,)) for listed in lists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert verdicts.count(Verdict.PASS) == 3
    assert figures("REC-0001") == (Decimal(10), Decimal(9), Decimal(1))
    # All or none: only the three lists that passed hold the other item.
    assert figures("REC-0002") == (Decimal(100), Decimal(3), Decimal(97))
    assert StockReservation.objects.count() == 6
    assert StockShortfall.objects.count() == 17


def test_received_at_is_kept_as_given(operator: Enterprise) -> None:
    at = datetime.datetime(2026, 12, 3, 9, 30, tzinfo=datetime.UTC)
    receipt = stock.receipt_record(
        operator=operator,
        ems_no=EMS_NO,
        reference="GRN-AT",
        received_at=at,
        lines=[stock.ReceiptLine("REC-0001", "1901101000", "奶粉", "007", Decimal(1))],
        actor=ACTOR,
    )
    receipt.refresh_from_db()
    assert receipt.received_at == at
