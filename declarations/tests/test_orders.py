"""Orders (CEB311) in JSON: every rule passing and failing, duplicates, and reading them back."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from core import errors
from core.crypto import decrypt_text
from declarations.intake import codes, examples
from declarations.intake.identity import id_number_hash
from declarations.models import Order
from declarations.tests.helpers import (
    BUYER_ID_BAD_CHECK,
    BUYER_ID_ENDING_X,
    EBP_CODE,
    LOGISTICS_CODE,
    Send,
    assert_rejected,
    detail_url,
    document,
    key_url,
    stored_rows,
    url,
)
from single_window.models import Enterprise, Role
from tests.factories import EnterpriseFactory, Persona, assert_problem

pytestmark = pytest.mark.usefixtures("parties")

ORDER_NO = examples.ORDER["order_no"]


def test_it_stores_a_valid_order_and_answers_with_it(send: Send, ebp: Persona) -> None:
    response = send("order")

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert body["id"] == order.pk
    assert body["status"] == "declared"
    assert body["version"] == 1
    assert body["order_no"] == ORDER_NO
    assert body["actual_paid"] == "445.13"
    assert [item["gnum"] for item in body["items"]] == [1, 2]
    assert order.sender == ebp.enterprise
    assert (order.ebp_code, order.order_no, order.status, order.version) == (EBP_CODE, ORDER_NO, "declared", 1)
    assert order.actual_paid == Decimal("445.13")
    # appTime is China Standard Time.
    assert order.app_time == datetime.datetime(2026, 11, 25, 2, 15, tzinfo=datetime.UTC)
    assert list(order.items.values_list("gnum", "total_price")) == [(1, Decimal(198)), (2, Decimal(200))]


def test_the_e_commerce_enterprise_may_send_the_order_in_its_own_name(send: Send, ebc: Persona) -> None:
    response = send("order", by="ebc")

    assert response.status_code == 201, response.content
    assert Order.objects.get().sender == ebc.enterprise


def test_the_appointed_agent_may_send_the_order_of_its_principal(send: Send, agent: Persona) -> None:
    response = send("order", by="agent")

    assert response.status_code == 201, response.content
    assert Order.objects.get().sender == agent.enterprise


# --- Amounts ----------------------------------------------------------------------------------

REJECTED_AMOUNTS = [
    pytest.param({"discount": "-1.00"}, None, "discount", "min_value", id="negative"),
    pytest.param({"freight": "10.000001"}, None, "freight", "max_decimal_places", id="six-decimals"),
    pytest.param({"goods_value": 398}, None, "goods_value", "not_a_string", id="json-integer"),
    pytest.param({"goods_value": 398.0}, None, "goods_value", "not_a_string", id="json-float"),
    pytest.param({"tax_total": "abc"}, None, "tax_total", "invalid", id="not-a-number"),
    pytest.param({"price": 99}, 0, "items[0].price", "not_a_string", id="item-json-number"),
    pytest.param({"qty": "-1"}, 1, "items[1].qty", "min_value", id="item-negative"),
    pytest.param({"price": "49.5000001"}, 0, "items[0].price", "max_decimal_places", id="item-seven-decimals"),
]


@pytest.mark.parametrize(("changes", "item", "field", "code"), REJECTED_AMOUNTS)
def test_it_rejects_an_amount_that_is_not_a_non_negative_decimal_string_of_at_most_five_places(
    send: Send, changes: dict[str, Any], item: int | None, field: str, code: str
) -> None:
    before = stored_rows()

    assert_rejected(send("order", document("order", item=item, **changes)), field, code)

    assert stored_rows() == before


def test_it_accepts_amounts_with_five_decimals_and_keeps_them_exact(send: Send) -> None:
    response = send("order", discount="0.00001", actual_paid="445.12999")

    assert response.status_code == 201, response.content
    assert response.json()["actual_paid"] == "445.12999"
    order = Order.objects.get()
    assert (order.discount, order.actual_paid) == (Decimal("0.00001"), Decimal("445.12999"))


def test_it_rejects_actual_paid_that_is_not_goods_plus_freight_plus_tax_minus_discount(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("order", actual_paid="445.14"), "actual_paid", codes.ACTUAL_PAID_MISMATCH)

    assert stored_rows() == before


def test_it_accepts_actual_paid_net_of_a_discount(send: Send) -> None:
    response = send("order", discount="5.13", actual_paid="440.00")

    assert response.status_code == 201, response.content
    assert Order.objects.get().actual_paid == Decimal(440)


def test_it_rejects_an_item_whose_total_price_is_not_price_times_qty(send: Send) -> None:
    before = stored_rows()

    assert_rejected(
        send("order", document("order", item=0, qty="3")), "items[0].total_price", codes.TOTAL_PRICE_MISMATCH
    )

    assert stored_rows() == before


def test_it_accepts_a_total_price_of_a_fractional_quantity(send: Send) -> None:
    data = document("order", item=0, qty="1.5", price="132.00", total_price="198.00")

    response = send("order", data)

    assert response.status_code == 201, response.content
    assert Order.objects.get().items.get(gnum=1).qty == Decimal("1.5")


def test_it_rejects_goods_value_that_is_not_the_sum_of_the_items(send: Send) -> None:
    before = stored_rows()

    assert_rejected(
        send("order", goods_value="400.00", actual_paid="447.13"), "goods_value", codes.GOODS_VALUE_MISMATCH
    )

    assert stored_rows() == before


@pytest.mark.parametrize(
    ("item", "field"), [pytest.param(None, "currency", id="head"), pytest.param(1, "items[1].currency", id="item")]
)
def test_it_rejects_a_currency_other_than_cny(send: Send, item: int | None, field: str) -> None:
    before = stored_rows()

    assert_rejected(send("order", document("order", item=item, currency="502")), field, codes.CURRENCY_NOT_CNY)

    assert stored_rows() == before


def test_it_rejects_two_items_with_one_gnum(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("order", document("order", item=1, gnum=1)), "items", codes.DUPLICATE_GNUM)

    assert stored_rows() == before


# --- The buyer's identity ----------------------------------------------------------------------


def test_it_rejects_a_buyer_id_type_other_than_the_resident_identity_card(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("order", buyer_id_type="2"), "buyer_id_type", codes.ID_TYPE_NOT_RESIDENT_CARD)

    assert stored_rows() == before


def test_it_rejects_a_buyer_id_number_with_a_wrong_check_character(send: Send) -> None:
    before = stored_rows()

    response = send("order", buyer_id_number=BUYER_ID_BAD_CHECK)

    assert_rejected(response, "buyer_id_number", codes.ID_NUMBER_INVALID)
    assert BUYER_ID_BAD_CHECK.encode() not in response.content
    assert stored_rows() == before


def test_a_lower_case_x_is_the_same_buyer_as_an_upper_case_x(send: Send) -> None:
    response = send("order", buyer_id_number=BUYER_ID_ENDING_X.lower().replace("x", " x"))

    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert order.buyer_id_hash == id_number_hash(BUYER_ID_ENDING_X)
    assert decrypt_text(order.buyer_id_number_encrypted) == BUYER_ID_ENDING_X
    assert response.json()["buyer_id_number"] == "330*************8X"


# --- Parties -----------------------------------------------------------------------------------


def test_it_rejects_a_party_code_nobody_registered(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("order", by="ebc", ebp_code="3301969999"), "ebp_code", codes.UNKNOWN_ENTERPRISE)

    assert stored_rows() == before


def test_it_rejects_a_suspended_party(send: Send, ebc: Persona) -> None:
    Enterprise.objects.filter(pk=ebc.enterprise.pk).update(status=Enterprise.Status.SUSPENDED)
    before = stored_rows()

    assert_rejected(send("order"), "ebc_code", codes.ENTERPRISE_NOT_ACTIVE)

    assert stored_rows() == before


def test_it_rejects_a_party_that_lacks_the_role_it_is_named_for(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("order", pay_code=LOGISTICS_CODE), "pay_code", codes.ROLE_MISSING)

    assert stored_rows() == before


def test_an_enterprise_named_nowhere_in_the_order_may_not_send_it(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("order", by="outsider"), "ebp_code", codes.NOT_YOUR_DOCUMENT)

    assert stored_rows() == before


def test_the_payment_enterprise_named_in_the_order_may_not_send_it(send: Send) -> None:
    before = stored_rows()

    assert_rejected(send("order", by="pay"), "ebp_code", codes.NOT_YOUR_DOCUMENT)

    assert stored_rows() == before


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        pytest.param("unit", "999", codes.UNKNOWN_UNIT, id="unit"),
        pytest.param("country", "999", codes.UNKNOWN_COUNTRY, id="country"),
    ],
)
def test_it_rejects_a_code_missing_from_the_customs_code_tables(send: Send, field: str, value: str, code: str) -> None:
    before = stored_rows()

    data = document("order")
    data["items"][1][field] = value

    assert_rejected(send("order", data), f"items[1].{field}", code)

    assert stored_rows() == before


def test_it_reports_every_broken_rule_at_once(send: Send) -> None:
    data = document("order", currency="502", buyer_id_type="2", actual_paid="1.00")

    body = assert_rejected(send("order", data), "currency", codes.CURRENCY_NOT_CNY)

    assert {e["field"] for e in body["errors"]} >= {"currency", "buyer_id_type", "actual_paid"}


# --- Duplicates ---------------------------------------------------------------------------------


def test_a_second_order_with_the_same_platform_and_order_number_is_a_conflict(send: Send) -> None:
    first = send("order").json()
    before = stored_rows()

    body = assert_problem(send("order", by="ebc"), 409, codes.DUPLICATE)

    assert body["existing_id"] == first["id"]
    assert body["customs_code"] == "-301010"
    assert stored_rows() == before
    assert Order.objects.get().sender.customs_code == EBP_CODE


def test_the_same_order_number_on_another_platform_is_another_order(send: Send, ebp: Persona) -> None:
    other = EnterpriseFactory.create(customs_code="3301960009", roles=[Role.EBP], park=ebp.enterprise.park)

    assert send("order").status_code == 201
    response = send("order", by="ebc", ebp_code=other.customs_code)

    assert response.status_code == 201, response.content
    assert Order.objects.filter(order_no=ORDER_NO).count() == 2


# --- Reading ------------------------------------------------------------------------------------


def test_the_sender_reads_its_order_by_id_and_by_business_key(send: Send, clients: dict[str, APIClient]) -> None:
    order_id = send("order").json()["id"]

    by_id = clients["ebp"].get(detail_url("order", order_id))
    by_key = clients["ebp"].get(key_url("order", EBP_CODE, ORDER_NO))

    assert by_id.status_code == 200
    assert by_key.status_code == 200
    assert by_id.json() == by_key.json()
    assert by_id.json()["id"] == order_id
    assert by_id.json()["buyer_name"] == examples.ORDER["buyer_name"]


@pytest.mark.parametrize("reader", ["ebc", "pay"])
def test_the_other_parties_named_in_the_order_read_it(send: Send, clients: dict[str, APIClient], reader: str) -> None:
    order_id = send("order").json()["id"]

    response = clients[reader].get(detail_url("order", order_id))

    assert response.status_code == 200
    assert response.json()["id"] == order_id


def test_an_unknown_id_or_key_is_not_found(clients: dict[str, APIClient]) -> None:
    assert_problem(clients["ebp"].get(detail_url("order", 999999)), 404, errors.NOT_FOUND)
    assert_problem(clients["ebp"].get(key_url("order", EBP_CODE, "NO-SUCH-ORDER")), 404, errors.NOT_FOUND)


def _orders(send: Send, *numbers: str, **changes: Any) -> list[int]:
    ids = []
    for number in numbers:
        response = send("order", order_no=number, **changes)
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    return ids


def test_the_list_is_filtered_by_status(send: Send, clients: dict[str, APIClient]) -> None:
    declared = _orders(send, "SW-A", "SW-B")
    drafts = _orders(send, "SW-C", app_status="1")

    response = clients["ebp"].get(url("order"), {"status": "draft"})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == drafts
    everything = clients["ebp"].get(url("order")).json()["results"]
    assert sorted(row["id"] for row in everything) == sorted(declared + drafts)


def test_the_list_is_filtered_by_updated_since(send: Send, clients: dict[str, APIClient]) -> None:
    (old,) = _orders(send, "SW-OLD")
    since = datetime.datetime.now(tz=datetime.UTC)
    Order.objects.filter(pk=old).update(updated_at=since - datetime.timedelta(hours=1))
    (new,) = _orders(send, "SW-NEW")

    response = clients["ebp"].get(url("order"), {"updated_since": since.isoformat()})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [new]


def test_the_list_is_paginated_by_cursor(send: Send, clients: dict[str, APIClient]) -> None:
    ids = _orders(send, "SW-1", "SW-2", "SW-3")
    client = clients["ebp"]

    seen: list[int] = []
    page = client.get(url("order"), {"page_size": 1}).json()
    while True:
        assert len(page["results"]) == 1
        seen += [row["id"] for row in page["results"]]
        if page["next"] is None:
            break
        response = client.get(page["next"])
        assert response.status_code == 200
        page = response.json()

    assert seen == ids


def test_an_updated_since_that_is_not_a_time_is_refused(clients: dict[str, APIClient]) -> None:
    body = assert_problem(
        clients["ebp"].get(url("order"), {"updated_since": "yesterday"}), 400, errors.VALIDATION_FAILED
    )

    assert body["errors"][0]["field"] == "updated_since"


def test_it_lists_only_what_names_the_reader(send: Send, clients: dict[str, APIClient]) -> None:
    _orders(send, "SW-X")

    assert clients["logistics"].get(url("order")).json()["results"] == []
    assert len(clients["pay"].get(url("order")).json()["results"]) == 1
