"""Bonded stock in the declare step, end to end through the API: a 1210 list whose items the
account book holds is declared and reserves them; customs' release takes the goods out; a
list short of stock is held until goods come in; failures give the stock back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from declarations.clearance import lifecycle
from declarations.models import DeclareDecision, Inventory, InventoryStatus, StatusChangeSource
from declarations.tests.helpers import Send
from declarations.tests.parcels import list_of, parcel, receipt, submit
from logistics.models import StockItem, StockReservation, StockShortfall
from logistics.participant import LogisticsParticipant
from single_window import declare as contract
from single_window.models import Event, Park, Role
from tests.factories import Persona, persona

S = InventoryStatus
AREA = "3301960007"
EMS_NO = "T2901W000001"

pytestmark = pytest.mark.usefixtures("parties")


@pytest.fixture
def logistics_step(db: None) -> Iterator[None]:
    contract.register_participant(LogisticsParticipant())
    yield
    contract.unregister_participant("logistics")


@pytest.fixture
def warehouse(park: Park, client_for: Callable[[Persona], APIClient]) -> APIClient:
    """The bonded warehouse operator the 1210 lists name (areaCode), with a client."""
    return client_for(persona(customs_code=AREA, roles=[Role.AREA], park=park, name="杭州综合保税区示例仓"))


def goods_in(client: APIClient, reference: str, **quantities: str) -> None:
    lines = [
        {
            "item_record_no": record_no.replace("_", "-"),
            "gcode": "1901101000",
            "name": "货物",
            "unit": "007",
            "qty": qty,
        }
        for record_no, qty in quantities.items()
    ]
    response = client.post(
        "/api/v1/logistics/stock-receipts",
        {"ems_no": EMS_NO, "reference": reference, "received_at": "2026-12-03T09:30:00+08:00", "lines": lines},
        format="json",
    )
    assert response.status_code == 201, response.content


def bonded_parcel(n: int) -> dict[str, dict[str, Any]]:
    """The example parcel as a 1210 list: a manual, the zone, record numbers, country 142.
    Its items: REC-0001 two pieces, REC-0002 one piece."""
    docs = parcel(n)
    docs["inventory"].update(
        trade_mode="1210",
        ems_no=EMS_NO,
        area_code=AREA,
        area_name="杭州综合保税区示例仓 Demo bonded warehouse",
        country="142",
        traf_no=None,
        voyage_no=None,
        bill_no=None,
    )
    for index, line in enumerate(docs["inventory"]["items"]):
        line["item_record_no"] = f"REC-{index + 1:04d}"
    return docs


def on_hand_reserved(record_no: str) -> tuple[Decimal, Decimal]:
    item = StockItem.objects.get(book__ems_no=EMS_NO, item_record_no=record_no)
    return item.on_hand, item.reserved


def declared(send: Send, n: int) -> Inventory:
    docs = bonded_parcel(n)
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == S.DECLARED, inventory.status
    return inventory


@pytest.mark.usefixtures("logistics_step")
def test_a_bonded_list_is_declared_reserving_its_items_and_released_takes_them_out(
    send: Send, warehouse: APIClient
) -> None:
    goods_in(warehouse, "GRN-1", REC_0001="10", REC_0002="5")

    inventory = declared(send, 71)

    assert on_hand_reserved("REC-0001") == (Decimal(10), Decimal(2))
    assert on_hand_reserved("REC-0002") == (Decimal(5), Decimal(1))
    assert DeclareDecision.objects.get(inventory=inventory, system="logistics").verdict == "pass"

    receipt(inventory, "800", inventory.updated_at)

    assert on_hand_reserved("REC-0001") == (Decimal(8), Decimal(0))
    assert on_hand_reserved("REC-0002") == (Decimal(4), Decimal(0))
    assert set(StockReservation.objects.values_list("state", flat=True)) == {"consumed"}


@pytest.mark.usefixtures("logistics_step")
def test_a_list_short_of_stock_is_held_until_goods_come_in(
    send: Send, warehouse: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    goods_in(warehouse, "GRN-1", REC_0001="1", REC_0002="5")
    docs = bonded_parcel(72)

    submit(send, docs)

    inventory = list_of(docs)
    assert inventory.status == S.HELD
    decision = DeclareDecision.objects.get(inventory=inventory, system="logistics")
    assert decision.verdict == "hold"
    assert decision.reasons[0]["code"] == "stock_insufficient"
    assert on_hand_reserved("REC-0001") == (Decimal(1), Decimal(0))
    assert on_hand_reserved("REC-0002") == (Decimal(5), Decimal(0))
    assert Event.objects.filter(type="logistics.stock_insufficient", enterprise__customs_code=AREA).exists()

    with django_capture_on_commit_callbacks(execute=True):
        goods_in(warehouse, "GRN-2", REC_0001="4")

    inventory.refresh_from_db()
    assert inventory.status == S.DECLARED
    assert on_hand_reserved("REC-0001") == (Decimal(5), Decimal(2))
    assert StockShortfall.objects.get(inventory_id=inventory.pk).resolved_at is not None


@pytest.mark.usefixtures("logistics_step")
def test_customs_rejecting_the_list_gives_its_stock_back(send: Send, warehouse: APIClient) -> None:
    goods_in(warehouse, "GRN-1", REC_0001="10", REC_0002="5")
    inventory = declared(send, 73)

    receipt(inventory, "100", inventory.updated_at)

    assert on_hand_reserved("REC-0001") == (Decimal(10), Decimal(0))
    assert set(StockReservation.objects.values_list("state", "outcome")) == {("released", "rejected")}


@pytest.mark.usefixtures("logistics_step")
def test_a_cancelled_list_brings_its_goods_back_into_the_warehouse(send: Send, warehouse: APIClient) -> None:
    goods_in(warehouse, "GRN-1", REC_0001="10", REC_0002="5")
    inventory = declared(send, 74)
    receipt(inventory, "800", inventory.updated_at)
    assert on_hand_reserved("REC-0001") == (Decimal(8), Decimal(0))

    lifecycle.inventory_transition(
        inventory=inventory, to=S.CANCELLED, source=StatusChangeSource.SINGLE_WINDOW, note="CEB624 399"
    )

    assert on_hand_reserved("REC-0001") == (Decimal(10), Decimal(0))
    assert on_hand_reserved("REC-0002") == (Decimal(5), Decimal(0))


def test_without_the_participant_a_bonded_list_is_declared_without_touching_stock(
    send: Send, warehouse: APIClient
) -> None:
    goods_in(warehouse, "GRN-1", REC_0001="1")

    declared(send, 75)

    assert on_hand_reserved("REC-0001") == (Decimal(1), Decimal(0))
    assert not StockReservation.objects.exists()
