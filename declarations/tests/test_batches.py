"""POST /api/v1/batches: many documents in one request, each stored or refused on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.models import AuditEntry, IdempotencyRecord
from declarations.intake import examples, services
from declarations.models import (
    Inventory,
    InventoryStatus,
    InventoryStatusChange,
    Order,
    OrderItem,
    Payment,
    RuleResult,
    Waybill,
)
from declarations.tests.parcels import parcel
from tests.factories import ApiKeyFactory, Persona

pytestmark = pytest.mark.django_db

URL = "/api/v1/batches"


@pytest.fixture
def ebp_client(clients: dict[str, APIClient]) -> APIClient:
    """The platform's client, with every party of the parcel registered."""
    return clients["ebp"]


def batch(*entries: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"documents": [{"kind": kind, "document": body} for kind, body in entries]}


def orders(count: int, start: int = 1) -> list[tuple[str, dict[str, Any]]]:
    return [("order", parcel(n)["order"]) for n in range(start, start + count)]


def test_every_document_of_a_batch_is_stored_and_answered_in_order(ebp_client: APIClient) -> None:
    response = ebp_client.post(URL, batch(*orders(3)), format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["accepted"], body["refused"]) == (3, 0)
    stored = {order.order_no: order.pk for order in Order.objects.all()}
    for index, result in enumerate(body["results"]):
        assert result == {
            "index": index,
            "kind": "order",
            "status": "accepted",
            "id": stored[parcel(index + 1)["order"]["order_no"]],
            "created": True,
            "document_status": "declared",
        }
    assert OrderItem.objects.count() == 3 * len(examples.ORDER["items"])


def test_a_bad_document_is_refused_alone_with_its_problem(ebp_client: APIClient) -> None:
    bad = {**parcel(2)["order"], "currency": "840"}
    duplicate = parcel(1)["order"]

    response = ebp_client.post(
        URL, batch(("order", parcel(1)["order"]), ("order", bad), ("order", duplicate)), format="json"
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["accepted"], body["refused"]) == (1, 2)
    refused = body["results"][1]
    assert refused["status"] == "refused"
    assert refused["problem"]["status"] == 400
    assert refused["problem"]["instance"] == "/api/v1/batches#/documents/1"
    assert {"field": "currency", "code": "currency_not_cny"}.items() <= refused["problem"]["errors"][0].items()
    conflict = body["results"][2]["problem"]
    assert (conflict["status"], conflict["code"], conflict["customs_code"]) == (409, "duplicate_document", "-301010")
    assert list(Order.objects.values_list("order_no", flat=True)) == [parcel(1)["order"]["order_no"]]


def test_a_change_may_follow_its_document_in_the_same_batch(ebp_client: APIClient) -> None:
    first = parcel(1)["order"]
    change = {**first, "app_type": "2", "app_time": "20261125103000", "buyer_name": "李四"}

    body = ebp_client.post(URL, batch(("order", first), ("order", change)), format="json").json()

    assert [r["status"] for r in body["results"]] == ["accepted", "accepted"]
    order = Order.objects.get()
    assert (order.version, order.buyer_name) == (2, "李四")


def test_documents_of_another_sender_are_refused_as_a_single_submission_is(ebp_client: APIClient) -> None:
    payment = parcel(1)["payment"]

    body = ebp_client.post(URL, batch(("order", parcel(1)["order"]), ("payment", payment)), format="json").json()

    assert [r["status"] for r in body["results"]] == ["accepted", "refused"]
    assert body["results"][1]["problem"]["status"] == 400
    assert not Payment.objects.exists()


def test_a_whole_parcel_in_batches_is_matched_and_declared(clients: dict[str, APIClient]) -> None:
    docs = parcel(1)
    for party, kind in (("ebp", "order"), ("pay", "payment"), ("logistics", "waybill"), ("agent", "inventory")):
        body = clients[party].post(URL, batch((kind, docs[kind])), format="json").json()
        assert body["accepted"] == 1, body

    assert Inventory.objects.get().status == InventoryStatus.DECLARED
    assert Waybill.objects.count() == 1


def test_a_batchs_lists_are_moved_without_reading_them_again_and_their_history_is_one_insert(
    clients: dict[str, APIClient],
) -> None:
    parcels = [parcel(n) for n in range(1, 4)]
    for party, kind in (("ebp", "order"), ("pay", "payment"), ("logistics", "waybill")):
        clients[party].post(URL, batch(*((kind, docs[kind]) for docs in parcels)), format="json")

    with CaptureQueriesContext(connection) as queries:
        body = clients["agent"].post(URL, batch(*(("inventory", docs["inventory"]) for docs in parcels)), format="json")

    assert body.json()["accepted"] == 3
    assert set(Inventory.objects.values_list("status", flat=True)) == {InventoryStatus.DECLARED}
    statements = [q["sql"] for q in queries.captured_queries]
    # Created, matched and declared: three moves a list, recorded together.
    assert sum(s.startswith('INSERT INTO "declarations_inventorystatuschange"') for s in statements) == 1
    assert InventoryStatusChange.objects.count() == 9
    # Each list is read once, locked, with its estimate and its last run of rules.
    assert sum(s.endswith('FOR UPDATE OF "declarations_inventory"') for s in statements) == 1
    assert not [s for s in statements if 'MAX("declarations_ruleresult"."run")' in s]
    assert not [s for s in statements if s.startswith('SELECT "declarations_taxestimate"')]
    # Matching's run is each list's first.
    assert set(RuleResult.objects.values_list("inventory_id", "run").distinct()) == {
        (pk, 1) for pk in Inventory.objects.values_list("pk", flat=True)
    }


def test_a_retry_with_the_same_idempotency_key_stores_nothing_twice(ebp_client: APIClient) -> None:
    payload = batch(*orders(2))

    first = ebp_client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    again = ebp_client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"documents": []}, "documents"),
        ({"documents": [{"kind": "invoice", "document": {}}]}, "documents[0].kind"),
        ({"documents": [{"kind": "order"}]}, "documents[0].document"),
        ({}, "documents"),
    ],
)
def test_a_malformed_batch_is_refused_whole(ebp_client: APIClient, payload: dict[str, Any], field: str) -> None:
    response = ebp_client.post(URL, payload, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
    assert not Order.objects.exists()


@override_settings(BATCH_MAX_DOCUMENTS=2)
def test_a_batch_over_the_limit_is_refused_whole(ebp_client: APIClient) -> None:
    response = ebp_client.post(URL, batch(*orders(3)), format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "batch_size"
    assert not Order.objects.exists()


@override_settings(BATCH_CHUNK_SIZE=2)
def test_chunks_commit_each_document_that_passed(ebp_client: APIClient) -> None:
    entries = [*orders(2), ("order", {**parcel(3)["order"], "currency": "840"}), *orders(2, start=4)]

    body = ebp_client.post(URL, batch(*entries), format="json").json()

    assert [r["status"] for r in body["results"]] == ["accepted", "accepted", "refused", "accepted", "accepted"]
    assert Order.objects.count() == 4


def test_a_regulator_key_may_not_send_a_batch(
    django_user_model: type[User], client_for: Callable[[Persona], APIClient], parties: dict[str, Persona]
) -> None:
    regulator = django_user_model.objects.create_user(username="officer", is_staff=True)
    api_key, raw_key = ApiKeyFactory.issue(enterprise=None, user=regulator)
    client = client_for(Persona(enterprise=parties["ebp"].enterprise, api_key=api_key, raw_key=raw_key))

    response = client.post(URL, batch(*orders(1)), format="json")

    assert response.status_code == 403
    assert not Order.objects.exists()


def test_a_batch_needs_a_key(parties: dict[str, Persona]) -> None:
    response = APIClient().post(URL, batch(*orders(1)), format="json")

    assert response.status_code == 401
    assert not Order.objects.exists()


def _busy_for(order_no: str, times: int, monkeypatch: pytest.MonkeyPatch, *, first_try: bool = False) -> list[str]:
    """``document_submit`` meets a parallel request's lock ``times`` times for one order: in
    the chunk's first try without savepoints (``first_try``), or (having met it in the first
    try as well) in the tries with savepoints after it."""
    real = services.document_submit
    met: list[str] = []

    def submit(**kwargs: Any) -> services.SubmitResult:
        if kwargs["data"]["order_no"] == order_no:
            if kwargs.get("savepoint") is False and not first_try:
                raise OperationalError("deadlock detected")
            if len(met) < times:
                met.append(order_no)
                raise OperationalError("deadlock detected")
        return real(**kwargs)

    monkeypatch.setattr(services, "document_submit", submit)
    return met


def test_a_chunk_whose_first_try_met_a_lock_is_stored_by_its_second(
    ebp_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    met = _busy_for(parcel(2)["order"]["order_no"], 1, monkeypatch, first_try=True)

    body = ebp_client.post(URL, batch(*orders(3)), format="json").json()

    assert met == [parcel(2)["order"]["order_no"]]
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted", "accepted"]
    # The first try's first document was rolled back with it: each order is stored once.
    assert Order.objects.count() == 3
    assert AuditEntry.objects.filter(object_type="declarations.order").count() == 3


def test_a_document_that_met_a_lock_is_tried_again_alone_and_stored(
    ebp_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    met = _busy_for(parcel(2)["order"]["order_no"], 1, monkeypatch)

    body = ebp_client.post(URL, batch(*orders(3)), format="json").json()

    assert met == [parcel(2)["order"]["order_no"]]
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted", "accepted"]
    assert Order.objects.count() == 3


def test_a_document_that_meets_a_lock_twice_is_refused_and_nothing_of_it_is_stored(
    ebp_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _busy_for(parcel(2)["order"]["order_no"], 2, monkeypatch)

    body = ebp_client.post(URL, batch(*orders(3)), format="json").json()

    assert [r["status"] for r in body["results"]] == ["accepted", "refused", "accepted"]
    assert (body["results"][1]["problem"]["status"], body["results"][1]["problem"]["code"]) == (409, "document_busy")
    assert set(Order.objects.values_list("order_no", flat=True)) == {
        parcel(1)["order"]["order_no"],
        parcel(3)["order"]["order_no"],
    }
