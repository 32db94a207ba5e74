"""Versions of a document: drafts (app_status 1), changes (app_type 2), deletions (app_type 3),
late versions (app_time), and the refusal to change what has gone to customs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.forms.models import model_to_dict

from core import errors
from declarations.intake import codes
from declarations.intake.services import MODELS
from declarations.models import Declaration, Inventory, InventoryStatus, Order
from declarations.tests.helpers import Send, document, stored_rows
from tests.factories import assert_problem

pytestmark = pytest.mark.usefixtures("parties")

KINDS = ("order", "payment", "waybill", "inventory")
# A later appTime than every example's.
LATER = "20261125150000"
LATEST = "20261125160000"


def only(kind: str) -> Declaration:
    model, _lines = MODELS[kind]
    document_: Declaration = model._default_manager.get()
    return document_


def row(kind: str) -> dict[str, Any]:
    return model_to_dict(only(kind))


# --- Drafts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_app_status_1_stores_a_draft(send: Send, kind: str) -> None:
    response = send(kind, app_status="1")

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "draft"
    stored = only(kind)
    assert stored.status == "draft"  # type: ignore[attr-defined]
    assert stored.app_status == "1"


def test_a_draft_list_waits_for_nothing_and_is_left_alone_by_arriving_documents(send: Send) -> None:
    response = send("inventory", app_status="1")

    assert response.json()["waiting_for"] == []
    for kind in ("order", "payment", "waybill"):
        assert send(kind).status_code == 201
    inventory = Inventory.objects.get()
    assert (inventory.status, inventory.waiting_for) == ("draft", [])


def test_a_draft_list_changed_to_a_declaration_starts_waiting(send: Send) -> None:
    send("inventory", app_status="1")
    send("order")

    response = send("inventory", app_type="2", app_time=LATER, app_status="2")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["waiting_for"]) == ("pending_documents", ["payment", "waybill"])
    inventory = Inventory.objects.get()
    assert (inventory.status, inventory.waiting_for, inventory.version) == (
        "pending_documents",
        ["payment", "waybill"],
        2,
    )


# --- Changes ------------------------------------------------------------------------------------

CHANGES = [
    pytest.param("order", {"buyer_telephone": "13900139000"}, "buyer_telephone", "13900139000", id="order"),
    pytest.param("payment", {"amount_paid": "440.00"}, "amount_paid", Decimal(440), id="payment"),
    pytest.param("waybill", {"weight": "1.35"}, "weight", Decimal("1.35"), id="waybill"),
    pytest.param("inventory", {"gross_weight": "1.25"}, "gross_weight", Decimal("1.25"), id="inventory"),
]


@pytest.mark.parametrize(("kind", "changes", "field", "value"), CHANGES)
def test_a_change_with_a_later_app_time_replaces_the_document(
    send: Send, kind: str, changes: dict[str, Any], field: str, value: object
) -> None:
    first = send(kind).json()

    response = send(kind, app_type="2", app_time=LATER, **changes)

    assert response.status_code == 200, response.content
    assert (response.json()["id"], response.json()["version"]) == (first["id"], 2)
    stored = only(kind)
    assert (stored.pk, stored.version, stored.app_type) == (first["id"], 2, "2")
    assert getattr(stored, field) == value
    assert stored.app_time.strftime("%Y%m%d%H%M%S") == "20261125070000"  # 15:00 CST in UTC


def test_a_change_replaces_the_items_of_an_order(send: Send) -> None:
    send("order")
    data = document("order", app_type="2", app_time=LATER, goods_value="198.00", actual_paid="245.13")
    del data["items"][1]

    response = send("order", data)

    assert response.status_code == 200, response.content
    assert [item["gnum"] for item in response.json()["items"]] == [1]
    order = Order.objects.get()
    assert list(order.items.values_list("gnum", flat=True)) == [1]
    assert order.goods_value == Decimal(198)


def test_a_change_that_breaks_a_rule_changes_nothing(send: Send) -> None:
    send("order")
    before, rows = row("order"), stored_rows()

    response = send("order", app_type="2", app_time=LATER, actual_paid="1.00")

    assert_problem(response, 400, "validation_failed")
    assert (row("order"), stored_rows()) == (before, rows)


@pytest.mark.parametrize(
    ("kind", "customs_code"), [("order", "-301014"), ("payment", "-401012"), ("waybill", None), ("inventory", None)]
)
@pytest.mark.parametrize("app_type", ["2", "3"])
@pytest.mark.parametrize("app_time", ["same", "older"])
def test_a_version_not_later_than_the_stored_one_is_ignored(
    send: Send, kind: str, customs_code: str | None, app_type: str, app_time: str
) -> None:
    first = send(kind).json()
    stored_time = first["app_time"]
    sent_time = stored_time if app_time == "same" else "20261124235959"
    before, rows = row(kind), stored_rows()

    body = assert_problem(send(kind, app_type=app_type, app_time=sent_time, note="late"), 409, codes.STALE_APP_TIME)

    assert body["existing_id"] == first["id"]
    assert body.get("customs_code") == customs_code
    assert (row(kind), stored_rows()) == (before, rows)


def test_an_older_change_arriving_after_a_newer_one_is_ignored(send: Send) -> None:
    send("order")
    send("order", app_type="2", app_time=LATEST, buyer_telephone="13900139000")
    before = row("order")

    response = send("order", app_type="2", app_time=LATER, buyer_telephone="13700137000")

    assert_problem(response, 409, codes.STALE_APP_TIME)
    assert row("order") == before
    assert Order.objects.get().buyer_telephone == "13900139000"


@pytest.mark.parametrize(("kind", "customs_code"), [("order", "-301009"), ("inventory", "-621011")])
@pytest.mark.parametrize("app_type", ["2", "3"])
def test_a_change_or_deletion_of_a_document_never_stored_is_not_found(
    send: Send, kind: str, customs_code: str, app_type: str
) -> None:
    """Answered as a key the sender may not see is (``test_ownership``): 404 with customs' code."""
    before = stored_rows()

    body = assert_problem(send(kind, app_type=app_type), 404, errors.NOT_FOUND)

    assert body["customs_code"] == customs_code
    assert stored_rows() == before


# --- Deletions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_app_type_3_deletes_and_frees_the_business_key(send: Send, kind: str) -> None:
    first = send(kind).json()

    deleted = send(kind, app_type="3", app_time=LATER)

    assert deleted.status_code == 200, deleted.content
    assert (deleted.json()["id"], deleted.json()["status"]) == (first["id"], "deleted")
    model, _lines = MODELS[kind]
    assert model._default_manager.get(pk=first["id"]).status == "deleted"  # type: ignore[attr-defined]

    again = send(kind)

    assert again.status_code == 201, again.content
    assert again.json()["id"] != first["id"]
    assert again.json()["version"] == 1
    statuses = sorted(document.status for document in model._default_manager.all())  # type: ignore[attr-defined]
    assert statuses == sorted(["deleted", "pending_documents" if kind == "inventory" else "declared"])


def test_a_deleted_document_cannot_be_changed(send: Send) -> None:
    send("payment")
    send("payment", app_type="3", app_time=LATER)
    before = row("payment")

    assert_problem(send("payment", app_type="2", app_time=LATEST), 404, errors.NOT_FOUND)

    assert row("payment") == before


def test_deleting_a_document_or_turning_it_into_a_draft_makes_the_list_wait_for_it_again(send: Send) -> None:
    for kind in ("order", "payment", "inventory"):
        send(kind)
    assert Inventory.objects.get().waiting_for == ["waybill"]

    assert send("payment", app_type="3", app_time=LATER).status_code == 200
    assert Inventory.objects.get().waiting_for == ["payment", "waybill"]

    assert send("order", app_type="2", app_time=LATER, app_status="1").status_code == 200
    assert Inventory.objects.get().waiting_for == ["order", "payment", "waybill"]


# --- After the list has gone to customs ----------------------------------------------------------


@pytest.fixture
def declared_parcel(send: Send) -> dict[str, int]:
    """The parcel's four documents, and the list declared to customs (set directly)."""
    ids = {kind: send(kind).json()["id"] for kind in KINDS}
    Inventory.objects.filter(pk=ids["inventory"]).update(status=InventoryStatus.DECLARED)
    return ids


@pytest.mark.parametrize(
    ("kind", "customs_code"),
    [("inventory", "-621012"), ("order", "-301011"), ("payment", "-401008"), ("waybill", "-504016")],
)
@pytest.mark.parametrize("app_type", ["2", "3"])
def test_nothing_of_a_declared_parcel_may_be_changed_or_deleted(
    send: Send, declared_parcel: dict[str, int], kind: str, customs_code: str, app_type: str
) -> None:
    before, rows = row(kind), stored_rows()

    body = assert_problem(send(kind, app_type=app_type, app_time=LATER, note="too late"), 409, codes.CHANGE_NOT_ALLOWED)

    assert body["customs_code"] == customs_code
    assert body["existing_id"] == declared_parcel[kind]
    assert (row(kind), stored_rows()) == (before, rows)


def test_a_list_customs_rejected_may_be_changed_and_declared_again(send: Send) -> None:
    list_id = send("inventory").json()["id"]
    Inventory.objects.filter(pk=list_id).update(status=InventoryStatus.REJECTED)

    response = send("inventory", app_type="2", app_time=LATER)

    assert response.status_code == 200, response.content
    inventory = Inventory.objects.get()
    assert (inventory.pk, inventory.status, inventory.version) == (list_id, "pending_documents", 2)


def test_the_list_waits_again_for_a_payment_moved_to_another_order(send: Send) -> None:
    for kind in ("order", "payment", "inventory"):
        send(kind)
    assert Inventory.objects.get().waiting_for == ["waybill"]

    response = send("payment", app_type="2", app_time=LATER, order_no="SW-ANOTHER-ORDER")

    assert response.status_code == 200, response.content
    assert Inventory.objects.get().waiting_for == ["payment", "waybill"]
