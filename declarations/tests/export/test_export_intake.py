"""JSON intake of the export documents: stored by their senders under their own codes, versions
by business key, idempotent replays, reads by key, masked personal fields, refusals that change
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from declarations.export import examples
from declarations.models import (
    ExportArrival,
    ExportDeparture,
    ExportList,
    ExportListStatus,
    ExportMasterBill,
    ExportOrder,
    ExportPaymentReceipt,
    ExportWaybill,
)
from declarations.tests.export.conftest import XSend, released, url
from single_window.models import Event

pytestmark = pytest.mark.django_db

MODELS: dict[str, Any] = {
    "export_order": ExportOrder,
    "export_receipt": ExportPaymentReceipt,
    "export_waybill": ExportWaybill,
    "export_arrival": ExportArrival,
    "export_list": ExportList,
    "export_master_bill": ExportMasterBill,
}


@pytest.mark.parametrize("kind", list(MODELS))
def test_each_document_is_stored_by_its_sender(xsend: XSend, kind: str) -> None:
    if kind == "export_master_bill":
        assert xsend("export_list").status_code == 201  # a master bill groups lists
    response = xsend(kind)

    assert response.status_code == 201, response.json()
    body = response.json()
    document = MODELS[kind].objects.get(pk=body["id"])
    assert body["version"] == 1
    assert document.guid == examples.EXAMPLES[kind]["guid"]
    assert Event.objects.filter(type="export.document_accepted", payload__document_id=document.pk).exists()


def test_a_departure_is_stored_once_its_parcel_arrived_and_its_list_was_released(xsend: XSend) -> None:
    assert xsend("export_arrival").status_code == 201
    assert xsend("export_list").status_code == 201
    released(ExportList.objects.get())

    response = xsend("export_departure")

    assert response.status_code == 201, response.json()
    assert ExportDeparture.objects.get().items.get().logistics_no == examples.LOGISTICS_NO


@pytest.mark.parametrize(
    ("kind", "by"),
    [
        ("export_order", "pay"),
        ("export_receipt", "ebp"),
        ("export_waybill", "outsider"),
        ("export_arrival", "logistics"),
        ("export_list", "outsider"),
        ("export_master_bill", "logistics"),
    ],
)
def test_an_enterprise_may_not_send_a_document_under_another_ones_code(xsend: XSend, kind: str, by: str) -> None:
    response = xsend(kind, by=by)

    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "export_sender_not_party"
    assert not MODELS[kind].objects.exists()


def test_a_master_bill_of_a_parcel_without_a_list_of_the_agent_is_refused(xsend: XSend) -> None:
    response = xsend("export_master_bill")

    assert response.status_code == 409
    assert response.json()["code"] == "export_master_bill_unknown_list"
    assert response.json()["errors"][0]["field"] == "items[0].logistics_no"
    assert not ExportMasterBill.objects.exists()


def test_the_seller_may_send_its_own_order_too(xsend: XSend) -> None:
    assert xsend("export_order", by="ebc").status_code == 201


def test_an_order_type_that_is_not_export_is_refused_with_its_field(xsend: XSend) -> None:
    response = xsend("export_order", order_type="I")

    assert response.status_code == 400
    assert {"field": "order_type", "code": "export_order_type_invalid"}.items() <= response.json()["errors"][0].items()
    assert not ExportOrder.objects.exists()


def test_a_1210_list_names_the_zone_warehouse_and_its_account_book(xsend: XSend) -> None:
    response = xsend("export_list", trade_mode="1210")

    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"iac_code", "iac_name", "ems_no", "items[0].item_record_no"} <= fields
    assert not ExportList.objects.exists()


def test_the_same_key_twice_is_a_duplicate_with_customs_code(xsend: XSend) -> None:
    assert xsend("export_order").status_code == 201

    response = xsend("export_order")

    assert response.status_code == 409
    assert response.json()["code"] == "export_duplicate_document"
    assert response.json()["customs_code"] == "-301010"
    assert ExportOrder.objects.count() == 1


def test_a_replay_with_the_same_idempotency_key_answers_the_first_response(xsend: XSend) -> None:
    first = xsend("export_waybill", key="wb-1")

    again = xsend("export_waybill", key="wb-1")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ExportWaybill.objects.count() == 1


def test_a_change_replaces_the_document_by_its_key_with_a_new_version(xsend: XSend) -> None:
    assert xsend("export_waybill").status_code == 201

    response = xsend("export_waybill", app_type="2", app_time="20261203102000", gross_weight="0.7")

    assert response.status_code == 200, response.json()
    waybill = ExportWaybill.objects.get()
    assert waybill.version == 2
    assert str(waybill.gross_weight.normalize()) == "0.7"
    assert response.json()["gross_weight"] == "0.7"


def test_an_older_version_is_refused_as_stale(xsend: XSend) -> None:
    assert xsend("export_waybill").status_code == 201

    response = xsend("export_waybill", app_type="2", app_time="20261203090000")

    assert response.status_code == 409
    assert response.json()["code"] == "export_stale_app_time"
    assert ExportWaybill.objects.get().version == 1


def test_a_change_by_a_stranger_is_answered_as_if_the_key_were_not_there(xsend: XSend) -> None:
    assert xsend("export_order").status_code == 201

    response = xsend("export_order", by="outsider", app_type="2", app_time="20261203102000")

    assert response.status_code == 404
    assert ExportOrder.objects.get().version == 1


def test_a_deletion_frees_the_key(xsend: XSend) -> None:
    assert xsend("export_order").status_code == 201

    assert xsend("export_order", app_type="3", app_time="20261203102000").status_code == 200
    assert xsend("export_order", app_time="20261203103000").status_code == 201

    assert ExportOrder.objects.filter(status="deleted").count() == 1
    assert ExportOrder.objects.filter(status="declared").count() == 1


def test_a_document_is_read_by_id_and_by_business_key_by_its_parties_only(xsend: XSend, export_clients: dict) -> None:
    document_id = xsend("export_order").json()["id"]

    by_key = export_clients["ebc"].get(f"{url('export_order')}/{examples.EBP_CODE}/{examples.ORDER_NO}")
    by_id = export_clients["ebp"].get(f"{url('export_order')}/{document_id}")
    stranger = export_clients["outsider"].get(f"{url('export_order')}/{document_id}")

    assert by_key.status_code == 200
    assert by_key.json()["id"] == document_id
    assert by_id.status_code == 200
    assert stranger.status_code == 404


def test_a_sellers_telephone_on_a_waybill_is_masked_to_all_but_the_carrier(xsend: XSend, export_clients: dict) -> None:
    document_id = xsend("export_waybill").json()["id"]

    own = export_clients["logistics"].get(f"{url('export_waybill')}/{document_id}").json()
    seen = export_clients["ebc"].get(f"{url('export_waybill')}/{document_id}").json()

    assert own["ebc_telephone"] == "13900139000"
    assert seen["ebc_telephone"] != "13900139000"
    assert "*" in seen["ebc_telephone"]


def test_the_list_endpoint_shows_only_what_the_caller_sent_or_is_named_in(xsend: XSend, export_clients: dict) -> None:
    xsend("export_order")

    assert len(export_clients["ebc"].get(url("export_order")).json()["results"]) == 1
    assert export_clients["outsider"].get(url("export_order")).json()["results"] == []


def test_a_list_waits_for_its_documents(xsend: XSend) -> None:
    response = xsend("export_list")

    assert response.status_code == 201
    export_list = ExportList.objects.get()
    assert export_list.status == ExportListStatus.PENDING_DOCUMENTS
    assert export_list.waiting_for == ["order", "receipt", "waybill"]
    assert response.json()["waiting_for"] == ["order", "receipt", "waybill"]
