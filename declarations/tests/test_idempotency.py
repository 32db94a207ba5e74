"""``Idempotency-Key`` on the document endpoints: replay, key reused, in flight, expiry, and an
encrypted store."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine
from django.db import connection
from django.urls import resolve
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from core.idempotency import IDEMPOTENCY_IN_FLIGHT, IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_TTL, fingerprint
from core.models import IdempotencyRecord
from declarations.intake import codes, examples
from declarations.models import Inventory, InventoryCancellation, InventoryStatus, Order
from declarations.tests.helpers import BUYER_ID, BUYER_NAME, Send, document, stored_rows, url
from tests.factories import Persona, assert_problem

pytestmark = pytest.mark.usefixtures("parties")

KEY = "order-SW20261125000001-try"


def test_the_same_key_and_body_replays_the_stored_answer(send: Send) -> None:
    first = send("order", key=KEY)

    replay = send("order", key=KEY)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Order.objects.count() == 1
    assert Order.objects.get().pk == first.json()["id"]
    assert IdempotencyRecord.objects.get().state == "done"


def test_without_a_key_the_second_request_is_a_duplicate(send: Send) -> None:
    send("order")

    assert_problem(send("order"), 409, codes.DUPLICATE)


def test_the_same_key_with_another_body_is_refused(send: Send) -> None:
    send("order", key=KEY)
    before = stored_rows()

    assert_problem(send("order", key=KEY, order_no="SW-OTHER"), 422, IDEMPOTENCY_KEY_REUSED)

    assert stored_rows() == before
    assert list(Order.objects.values_list("order_no", flat=True)) == [examples.ORDER["order_no"]]


def test_a_key_is_scoped_to_the_enterprise_and_the_endpoint(send: Send) -> None:
    assert send("order", key=KEY).status_code == 201
    assert send("payment", key=KEY).status_code == 201
    assert send("order", key=KEY, by="ebc", order_no="SW-EBC").status_code == 201

    assert IdempotencyRecord.objects.count() == 3
    assert Order.objects.count() == 2


def test_a_request_still_in_flight_is_a_conflict(ebp: Persona, clients: dict[str, APIClient]) -> None:
    body = json.dumps(examples.document("order"), ensure_ascii=False).encode()
    # The record the first request left while it runs: same enterprise, endpoint, key and body.
    pending = Request(APIRequestFactory().post(url("order"), body, content_type="application/json"))
    IdempotencyRecord.objects.create(
        owner_id=ebp.enterprise.pk,
        endpoint=f"POST {resolve(url('order')).route}",
        key=KEY,
        fingerprint=fingerprint(pending),
        expires_at=timezone.now() + IDEMPOTENCY_TTL,
    )
    before = stored_rows()

    response = clients["ebp"].post(url("order"), body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert_problem(response, 409, IDEMPOTENCY_IN_FLIGHT)
    assert stored_rows() == before
    assert IdempotencyRecord.objects.get().state == "in_flight"


def test_a_key_is_kept_24_hours_and_may_be_used_again_afterwards(send: Send) -> None:
    send("order", key=KEY)
    with time_machine.travel(timezone.now() + IDEMPOTENCY_TTL - datetime.timedelta(minutes=1)):
        assert_problem(send("order", key=KEY, order_no="SW-NEXT-DAY"), 422, IDEMPOTENCY_KEY_REUSED)

    with time_machine.travel(timezone.now() + IDEMPOTENCY_TTL + datetime.timedelta(minutes=1)):
        response = send("order", key=KEY, order_no="SW-NEXT-DAY")

    assert response.status_code == 201, response.content
    assert "Idempotent-Replayed" not in response
    assert sorted(Order.objects.values_list("order_no", flat=True)) == sorted(
        [examples.ORDER["order_no"], "SW-NEXT-DAY"]
    )
    assert IdempotencyRecord.objects.count() == 1


def test_a_refused_request_releases_its_key_for_the_corrected_retry(send: Send) -> None:
    assert_problem(send("order", key=KEY, actual_paid="1.00"), 400, "validation_failed")
    assert not IdempotencyRecord.objects.exists()

    response = send("order", key=KEY)

    assert response.status_code == 201, response.content
    assert Order.objects.count() == 1


def test_a_cancellation_is_replayed_too(send: Send, clients: dict[str, APIClient]) -> None:
    list_id = send("inventory").json()["id"]
    Inventory.objects.filter(pk=list_id).update(status=InventoryStatus.RELEASED)
    cancel = f"/api/v1/inventories/{list_id}/cancel"

    first = clients["agent"].post(cancel, {"reason": "买家取消订单"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    replay = clients["agent"].post(cancel, {"reason": "买家取消订单"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert InventoryCancellation.objects.count() == 1


def test_the_stored_answer_is_encrypted(send: Send) -> None:
    response = send("order", key=KEY)
    assert response.json()["buyer_name"] == BUYER_NAME  # the sender's own answer carries the name

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t::text FROM {IdempotencyRecord._meta.db_table} AS t")  # noqa: S608 - our own table name
        rows = [text for (text,) in cursor.fetchall()]

    assert len(rows) == 1
    assert BUYER_ID not in rows[0]
    assert BUYER_NAME not in rows[0]
    assert examples.ORDER["consignee_address"] not in rows[0]
    assert examples.ORDER["buyer_telephone"] not in rows[0]


def test_a_replayed_answer_is_the_decrypted_original(send: Send) -> None:
    data = document("order", buyer_name="李四", consignee="李四")
    first = send("order", data, key=KEY)

    replay = send("order", data, key=KEY)

    assert replay.json()["buyer_name"] == "李四"
    assert replay.json() == first.json()


def test_one_key_for_the_cancellation_of_two_lists_is_refused_for_the_second(
    send: Send, clients: dict[str, APIClient]
) -> None:
    first = send("inventory").json()["id"]
    second = send("inventory", cop_no="COP-2", order_no="SW-2", logistics_no="YT-2").json()["id"]
    Inventory.objects.filter(pk__in=[first, second]).update(status=InventoryStatus.RELEASED)
    reason = {"reason": "买家取消订单"}

    clients["agent"].post(f"/api/v1/inventories/{first}/cancel", reason, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    response = clients["agent"].post(
        f"/api/v1/inventories/{second}/cancel", reason, format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )

    # Not a replay of the first list's answer: the second list was not cancelled.
    assert_problem(response, 422, IDEMPOTENCY_KEY_REUSED)
    assert list(InventoryCancellation.objects.values_list("inventory_id", flat=True)) == [first]
