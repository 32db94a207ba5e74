"""A special-zone (1210) export list draws its goods from the zone warehouse's account book
(logistics' bonded stock): reserved when declared, out of the warehouse when customs releases
it, given back when it will not leave; a book that does not hold the goods fails the list."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from declarations.export import examples, lifecycle
from declarations.models import ExportList, ExportListStatus
from declarations.tests.export.conftest import XSend
from logistics.models import StockAccountBook, StockItem, StockReservation
from tests.factories import Persona

pytestmark = pytest.mark.django_db

S = ExportListStatus
EMS_NO = "T2901W000099"
RECORD = "EXP-TEA-0001"


@pytest.fixture
def book(operator: Persona) -> StockItem:
    """The zone warehouse's account book holds 10 kg of the tea."""
    account = StockAccountBook.objects.create(ems_no=EMS_NO, area_code=operator.code)
    return StockItem.objects.create(book=account, item_record_no=RECORD, unit="035", on_hand=Decimal(10))


def zone_list(operator: Persona, **changes: str) -> dict:
    data = examples.document(
        "export_list",
        trade_mode="1210",
        iac_code=operator.code,
        iac_name="下沙示例保税仓储有限公司 Demo Bonded Warehouse",
        ems_no=EMS_NO,
        **changes,
    )
    data["items"][0]["item_record_no"] = RECORD
    return data


def send_parcel(xsend: XSend) -> None:
    for kind in ("export_order", "export_receipt", "export_waybill"):
        assert xsend(kind).status_code == 201


def receipt(export_list: ExportList, code: str, minute: int) -> None:
    lifecycle.export_list_apply_receipt(
        export_list=export_list,
        code=code,
        info="",
        receipt_time=datetime.datetime(2026, 12, 3, 10, minute, tzinfo=datetime.UTC),
    )


def test_a_declared_1210_list_reserves_its_goods_on_the_zone_account_book(
    xsend: XSend, operator: Persona, book: StockItem
) -> None:
    send_parcel(xsend)

    assert xsend("export_list", zone_list(operator)).status_code == 201

    export_list = ExportList.objects.get()
    assert export_list.status == S.DECLARED
    book.refresh_from_db()
    assert book.reserved == Decimal("0.5")  # qty1 in the book's unit (035, kilogram)
    reservation = StockReservation.objects.get()
    assert (reservation.list_kind, reservation.inventory_id) == ("export", export_list.pk)


def test_customs_release_takes_the_goods_out_of_the_warehouse(xsend: XSend, operator: Persona, book: StockItem) -> None:
    send_parcel(xsend)
    xsend("export_list", zone_list(operator))
    export_list = ExportList.objects.get()

    receipt(export_list, "120", 1)
    receipt(export_list, "800", 2)

    book.refresh_from_db()
    assert (book.on_hand, book.reserved) == (Decimal("9.5"), Decimal(0))
    assert StockReservation.objects.get().state == "consumed"


def test_a_rejected_list_gives_its_reservation_back(xsend: XSend, operator: Persona, book: StockItem) -> None:
    send_parcel(xsend)
    xsend("export_list", zone_list(operator))

    receipt(ExportList.objects.get(), "100", 1)

    book.refresh_from_db()
    assert (book.on_hand, book.reserved) == (Decimal(10), Decimal(0))
    assert StockReservation.objects.get().state == "released"


def test_a_book_without_the_goods_fails_the_list_and_reserves_nothing(
    xsend: XSend, operator: Persona, book: StockItem
) -> None:
    StockItem.objects.filter(pk=book.pk).update(on_hand=Decimal("0.2"))
    send_parcel(xsend)

    xsend("export_list", zone_list(operator))

    export_list = ExportList.objects.get()
    assert export_list.status == S.MATCH_FAILED
    assert export_list.match_failures[0]["rule"] == "export_stock_short"
    assert "stock_insufficient" in export_list.match_failures[0]["note"]
    assert not StockReservation.objects.exists()


def test_a_9610_list_does_not_touch_any_book(xsend: XSend, book: StockItem) -> None:
    send_parcel(xsend)

    xsend("export_list")

    assert ExportList.objects.get().status == S.DECLARED
    assert not StockReservation.objects.exists()
