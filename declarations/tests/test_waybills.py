"""Waybills (CEB511) in JSON: rules, parties, and a waybill number used again after six months."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from core.times import ceb_time
from declarations.intake import codes, examples
from declarations.models import Waybill
from declarations.tests.helpers import (
    LOGISTICS_CODE,
    PAY_CODE,
    Send,
    assert_rejected,
    detail_url,
    document,
    key_url,
    stored_rows,
)
from tests.factories import Persona, assert_problem

pytestmark = pytest.mark.usefixtures("parties")

LOGISTICS_NO = examples.WAYBILL["logistics_no"]


def test_it_stores_a_valid_waybill_and_answers_with_it(send: Send, logistics: Persona) -> None:
    response = send("waybill")

    assert response.status_code == 201, response.content
    body = response.json()
    waybill = Waybill.objects.get()
    assert (body["id"], body["status"], body["weight"]) == (waybill.pk, "declared", "1.2")
    assert waybill.sender == logistics.enterprise
    assert (waybill.logistics_code, waybill.logistics_no, waybill.generation) == (LOGISTICS_CODE, LOGISTICS_NO, 1)
    assert waybill.weight == Decimal("1.2")


def test_optional_amounts_may_be_left_out(send: Send) -> None:
    response = send("waybill", document("waybill", drop=("freight", "insured_fee", "bill_no")))

    assert response.status_code == 201, response.content
    waybill = Waybill.objects.get()
    assert (waybill.freight, waybill.insured_fee, waybill.bill_no) == (None, None, "")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        pytest.param({"weight": "-1"}, "weight", "min_value", id="negative"),
        pytest.param({"freight": "0.000001"}, "freight", "max_decimal_places", id="six-decimals"),
        pytest.param({"weight": 1.2}, "weight", "not_a_string", id="json-number"),
        pytest.param({"currency": "840"}, "currency", codes.CURRENCY_NOT_CNY, id="currency"),
        pytest.param({"logistics_code": "3301969999"}, "logistics_code", codes.UNKNOWN_ENTERPRISE, id="unknown"),
    ],
)
def test_it_rejects_a_waybill_that_breaks_a_rule(send: Send, changes: dict[str, Any], field: str, code: str) -> None:
    before = stored_rows()

    assert_rejected(send("waybill", **changes), field, code)

    assert stored_rows() == before


def test_it_rejects_a_waybill_naming_an_enterprise_that_is_no_logistics_enterprise(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("waybill", by="pay", logistics_code=PAY_CODE), "logistics_code", codes.ROLE_MISSING)

    assert stored_rows() == before


@pytest.mark.parametrize("sender", ["outsider", "ebp", "agent"])
def test_only_the_logistics_enterprise_sends_its_waybill(send: Send, sender: str) -> None:
    before = stored_rows()

    assert_rejected(send("waybill", by=sender), "logistics_code", codes.NOT_YOUR_DOCUMENT)

    assert stored_rows() == before


def test_a_live_waybill_number_cannot_be_used_again(send: Send) -> None:
    first = send("waybill").json()
    before = stored_rows()

    body = assert_problem(send("waybill", order_no="SW-OTHER"), 409, codes.DUPLICATE)

    assert body["existing_id"] == first["id"]
    assert body["customs_code"] == "-504012"
    assert stored_rows() == before


def test_a_waybill_number_is_still_taken_five_months_later(send: Send) -> None:
    with time_machine.travel(timezone.now() - datetime.timedelta(days=150)):
        first = send("waybill", app_time=ceb_time(timezone.now())).json()  # sent then, dated then
    before = stored_rows()

    body = assert_problem(send("waybill", order_no="SW-OTHER"), 409, codes.DUPLICATE)

    assert body["existing_id"] == first["id"]
    assert stored_rows() == before


def test_a_waybill_number_older_than_six_months_may_be_used_again(send: Send) -> None:
    with time_machine.travel(timezone.now() - datetime.timedelta(days=200)):
        first = send("waybill", app_time=ceb_time(timezone.now())).json()  # sent then, dated then

    response = send("waybill", order_no="SW-OTHER")

    assert response.status_code == 201, response.content
    assert response.json()["id"] != first["id"]
    rows = list(Waybill.objects.order_by("generation").values_list("generation", "order_no", "status"))
    assert rows == [(1, examples.WAYBILL["order_no"], "declared"), (2, "SW-OTHER", "declared")]


def test_the_business_key_reads_the_latest_use_of_a_waybill_number(send: Send, clients: dict[str, APIClient]) -> None:
    with time_machine.travel(timezone.now() - datetime.timedelta(days=200)):
        old = send("waybill", app_time=ceb_time(timezone.now())).json()  # sent then, dated then
    new = send("waybill", order_no="SW-OTHER").json()

    by_key = clients["logistics"].get(key_url("waybill", LOGISTICS_CODE, LOGISTICS_NO))
    by_id = clients["logistics"].get(detail_url("waybill", old["id"]))

    assert by_key.status_code == by_id.status_code == 200
    assert by_key.json()["id"] == new["id"]
    assert by_id.json()["order_no"] == examples.WAYBILL["order_no"]


def test_a_deleted_waybill_frees_its_number(send: Send) -> None:
    send("waybill")
    assert send("waybill", app_type="3", app_time="20261125120000").status_code == 200

    response = send("waybill", order_no="SW-OTHER")

    assert response.status_code == 201, response.content
    rows = list(Waybill.objects.order_by("generation").values_list("generation", "status"))
    assert rows == [(1, "deleted"), (2, "declared")]
