"""The bonded stock API as a warehouse operator uses it: goods in on its account book, and the
book's figures; nobody else records on or reads the book."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.models import AuditEntry
from logistics.models import StockAccountBook, StockItem, StockMovement, StockReceipt
from single_window.models import Park, Role
from tests.factories import Persona, assert_problem, persona

AREA = "3301960007"
EMS_NO = "T2901W000001"
URL = "/api/v1/logistics/stock-receipts"

pytestmark = pytest.mark.django_db

RECEIPT: dict[str, Any] = {
    "ems_no": EMS_NO,
    "reference": "GRN-2026-12-0001",
    "received_at": "2026-12-03T09:30:00+08:00",
    "lines": [
        {"item_record_no": "REC-0001", "gcode": "1901101000", "name": "婴儿配方奶粉", "unit": "007", "qty": "120"},
        {"item_record_no": "REC-0002", "gcode": "3304990000", "name": "面霜", "unit": "007", "qty": "2.50"},
    ],
}


@pytest.fixture
def operator(park: Park) -> Persona:
    return persona(customs_code=AREA, roles=[Role.AREA], park=park, name="杭州综合保税区示例仓")


@pytest.fixture
def operator_client(operator: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(operator)


@pytest.fixture
def other_operator_client(client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(persona(roles=[Role.AREA], name="Another warehouse"))


def stored() -> tuple[int, int, int, int]:
    return (
        StockAccountBook.objects.count(),
        StockItem.objects.count(),
        StockReceipt.objects.count(),
        StockMovement.objects.count(),
    )


def test_an_operator_records_goods_in_and_reads_its_book(operator_client: APIClient, park: Park) -> None:
    response = operator_client.post(URL, RECEIPT, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["ems_no"], body["reference"], body["received_at"]) == (
        EMS_NO,
        "GRN-2026-12-0001",
        "2026-12-03T09:30:00+08:00",
    )
    assert body["lines"] == [
        {"line_no": 1, "item_record_no": "REC-0001", "qty": "120"},
        {"line_no": 2, "item_record_no": "REC-0002", "qty": "2.5"},
    ]
    book = StockAccountBook.objects.get()
    assert (book.ems_no, book.area_code, book.park_code) == (EMS_NO, AREA, park.code)
    receipt = StockReceipt.objects.get()
    assert AuditEntry.objects.filter(
        action="create", object_id=str(receipt.pk), object_type__endswith="stockreceipt"
    ).exists()

    read = operator_client.get("/api/v1/logistics/stock", {"ems_no": EMS_NO})

    assert read.status_code == 200, read.content
    assert read.json()["items"] == [
        {
            "item_record_no": "REC-0001",
            "gcode": "1901101000",
            "name": "婴儿配方奶粉",
            "unit": "007",
            "on_hand": "120",
            "reserved": "0",
            "available": "120",
        },
        {
            "item_record_no": "REC-0002",
            "gcode": "3304990000",
            "name": "面霜",
            "unit": "007",
            "on_hand": "2.5",
            "reserved": "0",
            "available": "2.5",
        },
    ]


def test_the_same_reference_again_is_a_conflict_and_changes_nothing(operator_client: APIClient) -> None:
    first = operator_client.post(URL, RECEIPT, format="json")
    before = stored()

    again = operator_client.post(URL, RECEIPT, format="json")

    body = assert_problem(again, 409, "stock_receipt_duplicate")
    assert body["existing_id"] == first.json()["id"]
    assert stored() == before
    assert StockItem.objects.get(item_record_no="REC-0001").on_hand == 120


def test_the_same_idempotency_key_replays_the_first_answer(operator_client: APIClient) -> None:
    first = operator_client.post(URL, RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="grn-1")
    before = stored()

    again = operator_client.post(URL, RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="grn-1")

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert stored() == before


def test_another_operator_neither_records_on_nor_reads_the_book(
    operator_client: APIClient, other_operator_client: APIClient
) -> None:
    operator_client.post(URL, RECEIPT, format="json")
    before = stored()

    recorded = other_operator_client.post(URL, {**RECEIPT, "reference": "GRN-OTHER"}, format="json")
    read = other_operator_client.get("/api/v1/logistics/stock", {"ems_no": EMS_NO})

    assert_problem(recorded, 404, "not_found")
    assert_problem(read, 404, "not_found")
    assert stored() == before


def test_an_enterprise_that_is_no_warehouse_operator_records_nothing(outsider_client: APIClient) -> None:
    response = outsider_client.post(URL, RECEIPT, format="json")

    assert_problem(response, 403, "role_required")
    assert stored() == (0, 0, 0, 0)


def test_bad_input_is_refused_field_by_field_and_nothing_is_stored(operator_client: APIClient) -> None:
    bad = copy.deepcopy(RECEIPT)
    bad["lines"][0]["qty"] = 120
    bad["lines"][1]["qty"] = "0"
    bad["lines"][1]["unit"] = "7"
    del bad["reference"]

    response = operator_client.post(URL, bad, format="json")

    body = assert_problem(response, 400, "validation_failed")
    assert sorted((e["field"], e["code"]) for e in body["errors"]) == [
        ("lines[0].qty", "not_a_string"),
        ("lines[1].qty", "not_positive"),
        ("lines[1].unit", "invalid"),
        ("reference", "required"),
    ]
    assert stored() == (0, 0, 0, 0)


def test_a_line_in_another_unit_than_its_item_is_refused(operator_client: APIClient) -> None:
    operator_client.post(URL, RECEIPT, format="json")
    before = stored()
    other_unit = copy.deepcopy(RECEIPT)
    other_unit["reference"] = "GRN-2"
    other_unit["lines"][1]["unit"] = "035"

    response = operator_client.post(URL, other_unit, format="json")

    body = assert_problem(response, 400, "validation_failed")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("lines[1].unit", "stock_unit_mismatch")]
    assert stored() == before


@pytest.mark.parametrize(("query", "code"), [({}, "required"), ({"ems_no": "T\x00"}, "invalid")])
def test_the_stock_needs_its_book_named(operator_client: APIClient, query: dict[str, str], code: str) -> None:
    body = assert_problem(operator_client.get("/api/v1/logistics/stock", query), 400, "validation_failed")

    assert [(e["field"], e["code"]) for e in body["errors"]] == [("ems_no", code)]
