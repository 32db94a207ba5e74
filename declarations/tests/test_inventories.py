"""Declaration lists (CEB621) in JSON: rules, trade modes, what a list waits for, cancellation."""

from __future__ import annotations

import contextlib
import datetime
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from core import errors
from declarations.intake import codes, examples, services
from declarations.models import Declaration, Inventory, InventoryCancellation, InventoryStatus
from declarations.tests.helpers import (
    AGENT_CODE,
    EBC_CODE,
    EBP_CODE,
    LOGISTICS_CODE,
    PAY_CODE,
    Send,
    assert_rejected,
    detail_url,
    document,
    key_url,
    stored_rows,
)
from single_window import selectors
from single_window.models import Appointment, Enterprise, Role
from tests.factories import Persona, assert_problem, persona

pytestmark = pytest.mark.usefixtures("parties")

COP_NO = examples.INVENTORY["cop_no"]
OTHER_DOCUMENTS = ("order", "payment", "waybill")


def cancel_url(inventory_id: int) -> str:
    return f"/api/v1/inventories/{inventory_id}/cancel"


def test_a_declared_list_waits_for_the_documents_not_yet_received(send: Send, agent: Persona) -> None:
    response = send("inventory")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending_documents"
    assert body["waiting_for"] == ["order", "payment", "waybill"]
    inventory = Inventory.objects.get()
    assert inventory.sender == agent.enterprise
    assert (inventory.agent_code, inventory.cop_no, inventory.status) == (AGENT_CODE, COP_NO, "pending_documents")
    assert inventory.waiting_for == ["order", "payment", "waybill"]
    assert list(inventory.items.values_list("gnum", "gcode")) == [(1, "3304990099"), (2, "1901101000")]


@pytest.mark.parametrize("arrival", list(itertools.permutations(OTHER_DOCUMENTS)), ids="-".join)
def test_the_list_stops_waiting_once_the_other_three_documents_arrive_in_any_order(
    send: Send, arrival: tuple[str, ...]
) -> None:
    list_id = send("inventory").json()["id"]

    for index, kind in enumerate(arrival):
        assert send(kind).status_code == 201
        still_missing = [k for k in OTHER_DOCUMENTS if k not in arrival[: index + 1]]
        assert Inventory.objects.get(pk=list_id).waiting_for == still_missing

    # What the list's state becomes then is for matching to decide.
    assert Inventory.objects.get(pk=list_id).waiting_for == []


def test_a_list_declared_after_its_documents_waits_for_nothing(send: Send) -> None:
    for kind in OTHER_DOCUMENTS:
        assert send(kind).status_code == 201

    response = send("inventory")

    assert response.status_code == 201, response.content
    assert response.json()["waiting_for"] == []
    assert Inventory.objects.get().waiting_for == []


def test_a_draft_document_does_not_count_as_received(send: Send) -> None:
    send("order", app_status="1")
    send("payment")

    response = send("inventory")

    assert response.json()["waiting_for"] == ["order", "waybill"]
    assert Inventory.objects.get().waiting_for == ["order", "waybill"]


# --- Who may declare a list ---------------------------------------------------------------------


def test_the_e_commerce_enterprise_may_declare_its_own_list_without_an_agent(send: Send, ebc: Persona) -> None:
    response = send("inventory", by="ebc", agent_code=EBC_CODE, agent_name=examples.INVENTORY["ebc_name"])

    assert response.status_code == 201, response.content
    assert Inventory.objects.get().sender == ebc.enterprise


def test_an_agent_without_an_appointment_may_not_declare(client_for: Callable[[Persona], APIClient]) -> None:
    stranger = persona(customs_code="3301960006", roles=[Role.AGENT])
    before = stored_rows()

    response = client_for(stranger).post(
        "/api/v1/inventories", document("inventory", agent_code="3301960006"), format="json"
    )

    assert_rejected(response, "agent_code", codes.APPOINTMENT_REQUIRED)
    assert stored_rows() == before


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "revoked"),
    [
        pytest.param(-400, -1, False, id="expired"),
        pytest.param(1, 365, False, id="not-yet-in-force"),
        pytest.param(-30, 335, True, id="revoked"),
    ],
)
def test_an_agent_whose_appointment_is_not_in_force_may_not_declare(
    send: Send, agent_appointment: Appointment, valid_from: int, valid_to: int, revoked: bool
) -> None:
    today = selectors.today()
    agent_appointment.valid_from = today + datetime.timedelta(days=valid_from)
    agent_appointment.valid_to = today + datetime.timedelta(days=valid_to)
    agent_appointment.revoked_at = timezone.now() if revoked else None
    agent_appointment.save()
    before = stored_rows()

    assert_rejected(send("inventory"), "agent_code", codes.APPOINTMENT_REQUIRED)

    assert stored_rows() == before


def test_an_outsider_may_not_declare_a_list_in_the_agents_name(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("inventory", by="outsider"), "agent_code", codes.NOT_YOUR_DOCUMENT)

    assert stored_rows() == before


def test_an_outsider_may_not_declare_a_list_as_agent_of_an_enterprise_that_did_not_appoint_it(
    send: Send, outsider: Persona
) -> None:
    before = stored_rows()

    response = send("inventory", by="outsider", agent_code=outsider.code)

    assert_rejected(response, "agent_code", codes.APPOINTMENT_REQUIRED)
    assert stored_rows() == before


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        pytest.param({"ebp_code": "3301969999"}, "ebp_code", codes.UNKNOWN_ENTERPRISE, id="unknown-platform"),
        pytest.param({"logistics_code": PAY_CODE}, "logistics_code", codes.ROLE_MISSING, id="logistics-lacks-role"),
        pytest.param({"ebc_code": EBP_CODE}, "ebc_code", codes.ROLE_MISSING, id="ebc-lacks-role"),
        pytest.param({"assure_code": PAY_CODE}, "assure_code", codes.ASSURE_CODE_NOT_PARTY, id="assure-code"),
        pytest.param({"assure_code": AGENT_CODE}, "assure_code", codes.ASSURE_CODE_NOT_PARTY, id="assure-agent"),
    ],
)
def test_it_rejects_a_list_naming_parties_that_cannot_be_its_parties(
    send: Send, changes: dict[str, Any], field: str, code: str
) -> None:
    before = stored_rows()

    assert_rejected(send("inventory", **changes), field, code)

    assert stored_rows() == before


def test_it_rejects_a_list_naming_a_suspended_logistics_enterprise(send: Send, logistics: Persona) -> None:
    Enterprise.objects.filter(pk=logistics.enterprise.pk).update(status=Enterprise.Status.SUSPENDED)
    before = stored_rows()

    assert_rejected(send("inventory"), "logistics_code", codes.ENTERPRISE_NOT_ACTIVE)

    assert stored_rows() == before


@pytest.mark.parametrize("guarantor", [EBP_CODE, EBC_CODE, LOGISTICS_CODE])
def test_the_guarantor_may_be_the_platform_the_e_commerce_or_the_logistics_enterprise(
    send: Send, guarantor: str
) -> None:
    response = send("inventory", assure_code=guarantor)

    assert response.status_code == 201, response.content
    assert Inventory.objects.get().assure_code == guarantor


# --- Goods and codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "changes", "field", "code"),
    [
        pytest.param(0, {"gcode": "9999999999"}, "items[0].gcode", codes.GCODE_NOT_ON_POSITIVE_LIST, id="gcode"),
        pytest.param(1, {"gcode": "19011010AB"}, "items[1].gcode", codes.GCODE_FORMAT, id="gcode-format"),
        pytest.param(1, {"gcode": "190110"}, "items[1].gcode", "min_length", id="gcode-short"),
        pytest.param(0, {"unit1": "999"}, "items[0].unit1", codes.UNKNOWN_UNIT, id="unit"),
        pytest.param(1, {"country": "998"}, "items[1].country", codes.UNKNOWN_COUNTRY, id="item-country"),
        pytest.param(None, {"country": "998"}, "country", codes.UNKNOWN_COUNTRY, id="head-country"),
        pytest.param(0, {"total_price": "199.00"}, "items[0].total_price", codes.TOTAL_PRICE_MISMATCH, id="total"),
        pytest.param(0, {"currency": "392"}, "items[0].currency", codes.CURRENCY_NOT_CNY, id="item-currency"),
        pytest.param(0, {"qty1": 0.1}, "items[0].qty1", "not_a_string", id="item-json-number"),
        pytest.param(None, {"freight": "-10.00"}, "freight", "min_value", id="negative"),
        pytest.param(None, {"gross_weight": "1.2000001"}, "gross_weight", "max_decimal_places", id="seven-decimals"),
        pytest.param(None, {"buyer_id_type": "2"}, "buyer_id_type", codes.ID_TYPE_NOT_RESIDENT_CARD, id="id-type"),
        pytest.param(None, {"ie_flag": "E"}, "ie_flag", codes.INVALID, id="export"),
    ],
)
def test_it_rejects_a_list_with_goods_or_codes_that_break_a_rule(
    send: Send, item: int | None, changes: dict[str, Any], field: str, code: str
) -> None:
    before = stored_rows()

    assert_rejected(send("inventory", document("inventory", item=item, **changes)), field, code)

    assert stored_rows() == before


# --- Trade modes --------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["traf_no", "voyage_no", "bill_no"])
def test_a_9610_list_needs_its_transport_fields(send: Send, missing: str) -> None:
    before = stored_rows()

    assert_rejected(send("inventory", document("inventory", drop=(missing,))), missing, codes.REQUIRED_FOR_TRADE_MODE)
    assert_rejected(
        send("inventory", examples.document("inventory", **{missing: ""})), missing, codes.REQUIRED_FOR_TRADE_MODE
    )

    assert stored_rows() == before


def bonded(**changes: Any) -> dict[str, Any]:
    """The example as a bonded (1210) list: a manual, the zone, record numbers and country 142."""
    data = document(
        "inventory",
        trade_mode="1210",
        ems_no="T2901W000001",
        area_code="3301960007",
        area_name="杭州综合保税区示例仓 Demo bonded warehouse",
        country="142",
        traf_no=None,
        voyage_no=None,
        bill_no=None,
    )
    for index, line in enumerate(data["items"]):
        line["item_record_no"] = f"REC-{index + 1:04d}"
    data.update(changes)
    return data


def test_a_complete_1210_list_is_accepted(send: Send) -> None:
    response = send("inventory", bonded())

    assert response.status_code == 201, response.content
    inventory = Inventory.objects.get()
    assert (inventory.trade_mode, inventory.ems_no, inventory.country, inventory.traf_no) == (
        "1210",
        "T2901W000001",
        "142",
        "",
    )
    assert list(inventory.items.values_list("item_record_no", flat=True)) == ["REC-0001", "REC-0002"]


@pytest.mark.parametrize("missing", ["ems_no", "area_code", "area_name"])
def test_a_1210_list_needs_its_manual_and_zone(send: Send, missing: str) -> None:
    data = bonded()
    del data[missing]
    before = stored_rows()

    assert_rejected(send("inventory", data), missing, codes.REQUIRED_FOR_TRADE_MODE)

    assert stored_rows() == before


def test_a_1210_list_needs_each_items_record_number(send: Send) -> None:
    data = bonded()
    del data["items"][1]["item_record_no"]
    before = stored_rows()

    assert_rejected(send("inventory", data), "items[1].item_record_no", codes.REQUIRED_FOR_TRADE_MODE)

    assert stored_rows() == before


def test_a_1210_list_has_country_142(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("inventory", bonded(country="116")), "country", codes.REQUIRED_FOR_TRADE_MODE)

    assert stored_rows() == before


def test_a_list_in_another_trade_mode_is_refused(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("inventory", trade_mode="0110"), "trade_mode", codes.TRADE_MODE_UNSUPPORTED)

    assert stored_rows() == before


def test_a_list_needs_the_declaring_enterprises_own_number(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("inventory", document("inventory", drop=("cop_no",))), "cop_no", codes.REQUIRED_FOR_TRADE_MODE)

    assert stored_rows() == before


# --- Duplicates ---------------------------------------------------------------------------------


def test_a_second_list_with_the_same_agent_and_cop_no_is_a_conflict(send: Send) -> None:
    first = send("inventory").json()
    before = stored_rows()

    body = assert_problem(send("inventory"), 409, codes.DUPLICATE)

    assert body["existing_id"] == first["id"]
    assert body["customs_code"] == "-621004"
    assert stored_rows() == before


def test_a_second_list_for_the_same_order_is_a_conflict(send: Send) -> None:
    send("inventory")
    before = stored_rows()

    body = assert_problem(send("inventory", cop_no="COP-SECOND"), 409, codes.DUPLICATE)

    assert body["customs_code"] == "-621004"
    assert stored_rows() == before


# --- Reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["agent", "ebc", "ebp", "logistics"])
def test_the_parties_of_the_list_read_it_by_id_and_by_key(
    send: Send, clients: dict[str, APIClient], reader: str
) -> None:
    list_id = send("inventory").json()["id"]

    by_id = clients[reader].get(detail_url("inventory", list_id))
    by_key = clients[reader].get(key_url("inventory", AGENT_CODE, COP_NO))

    assert by_id.status_code == by_key.status_code == 200
    assert by_id.json() == by_key.json()
    assert by_id.json()["waiting_for"] == ["order", "payment", "waybill"]


def test_the_payment_enterprise_is_no_party_of_the_list(send: Send, clients: dict[str, APIClient]) -> None:
    list_id = send("inventory").json()["id"]

    assert_problem(clients["pay"].get(detail_url("inventory", list_id)), 404, errors.NOT_FOUND)


# --- Cancellation (CEB623) ----------------------------------------------------------------------


@pytest.fixture
def declared_list(send: Send) -> Inventory:
    """A list customs has released (set directly: receipts come with a later issue)."""
    list_id = send("inventory").json()["id"]
    Inventory.objects.filter(pk=list_id).update(status=InventoryStatus.RELEASED)
    return Inventory.objects.get(pk=list_id)


@pytest.mark.parametrize("who", ["agent", "ebc"])
def test_a_released_list_may_be_cancelled_with_a_reason(
    declared_list: Inventory, clients: dict[str, APIClient], parties: dict[str, Persona], who: str
) -> None:
    response = clients[who].post(cancel_url(declared_list.pk), {"reason": "买家取消订单"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    cancellation = InventoryCancellation.objects.get()
    assert (body["id"], body["inventory_id"], body["status"]) == (cancellation.pk, declared_list.pk, "recorded")
    assert (cancellation.reason, cancellation.requested_by) == ("买家取消订单", parties[who].enterprise)
    # Recorded only; the list stays released until customs answers.
    assert Inventory.objects.get(pk=declared_list.pk).status == "released"


def test_a_list_not_yet_declared_cannot_be_cancelled(send: Send, clients: dict[str, APIClient]) -> None:
    list_id = send("inventory").json()["id"]

    body = assert_problem(
        clients["agent"].post(cancel_url(list_id), {"reason": "买家取消订单"}, format="json"),
        409,
        codes.CANCEL_NOT_ALLOWED,
    )

    assert body["existing_id"] == list_id
    assert not InventoryCancellation.objects.exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_cancellation_needs_a_reason(declared_list: Inventory, clients: dict[str, APIClient], reason: str) -> None:
    response = clients["agent"].post(cancel_url(declared_list.pk), {"reason": reason}, format="json")

    assert_rejected(response, "reason", "blank")
    assert not InventoryCancellation.objects.exists()


def test_a_second_open_cancellation_is_a_conflict(declared_list: Inventory, clients: dict[str, APIClient]) -> None:
    clients["agent"].post(cancel_url(declared_list.pk), {"reason": "买家取消订单"}, format="json")

    response = clients["ebc"].post(cancel_url(declared_list.pk), {"reason": "重复"}, format="json")

    assert_problem(response, 409, codes.CANCEL_ALREADY_REQUESTED)
    assert InventoryCancellation.objects.count() == 1


@pytest.mark.parametrize("who", ["outsider", "pay", "logistics", "ebp"])
def test_only_the_declaring_or_e_commerce_enterprise_may_cancel(
    declared_list: Inventory, clients: dict[str, APIClient], who: str
) -> None:
    response = clients[who].post(cancel_url(declared_list.pk), {"reason": "买家取消订单"}, format="json")

    assert_problem(response, 404, errors.NOT_FOUND)
    assert not InventoryCancellation.objects.exists()


def test_cancelling_an_unknown_list_is_not_found(clients: dict[str, APIClient]) -> None:
    response = clients["agent"].post(cancel_url(999999), {"reason": "买家取消订单"}, format="json")

    assert_problem(response, 404, errors.NOT_FOUND)


# --- Documents arriving at the same instant ------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush")
@pytest.mark.parametrize("other", OTHER_DOCUMENTS)
def test_a_document_arriving_at_the_same_instant_as_its_list_is_not_missed(
    send: Send, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    """Both requests write their row, then both look for the other before either commits:
    unless the parcel is locked, neither sees the other's row and the list waits forever.
    (With the lock the second request waits at the lock, and the barriers time out.)"""
    written, looked = threading.Barrier(2), threading.Barrier(2)
    after_submit = services.after_submit

    def meet(barrier: threading.Barrier) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1.0)

    def in_step(*, kind: str, document: Declaration) -> None:
        meet(written)
        after_submit(kind=kind, document=document)
        meet(looked)

    monkeypatch.setattr(services, "after_submit", in_step)

    def submit(kind: str) -> int:
        try:
            return send(kind).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(submit, ["inventory", other]))

    assert statuses == [201, 201]
    assert Inventory.objects.get().waiting_for == [kind for kind in OTHER_DOCUMENTS if kind != other]


def test_listing_lists_costs_the_same_queries_for_three_lists_as_for_one(
    send: Send, clients: dict[str, APIClient], django_assert_max_num_queries: Any
) -> None:
    """Items and tax estimates are loaded with the page, not one query per list."""
    send("inventory")
    with django_assert_max_num_queries(50) as one:
        assert clients["agent"].get("/api/v1/inventories").status_code == 200
    queries_for_one = len(one.captured_queries)  # read now: the next request resets the log
    for n in (2, 3):
        send("inventory", cop_no=f"COP-{n}", order_no=f"SW-{n}", logistics_no=f"YT-{n}")

    with django_assert_max_num_queries(queries_for_one):
        response = clients["agent"].get("/api/v1/inventories")

    assert len(response.json()["results"]) == 3
