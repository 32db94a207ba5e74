"""The export list's checks against its order, payment receipt and waybill (item by item), and
the parcel's state that refuses documents outright: departed or summarised parcels, departures
before arrival or release."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from declarations.export import examples
from declarations.models import ExportDeparture, ExportList, ExportListCancellation, ExportListStatus, ExportOrder
from declarations.tests.export.conftest import XSend, released

pytestmark = pytest.mark.django_db

S = ExportListStatus


def the_list() -> ExportList:
    return ExportList.objects.get()


def send_parcel(xsend: XSend, *, without: tuple[str, ...] = ()) -> None:
    for kind in ("export_order", "export_receipt", "export_waybill"):
        if kind not in without:
            assert xsend(kind).status_code == 201, kind


def test_a_list_matching_its_order_receipt_and_waybill_is_declared(xsend: XSend) -> None:
    send_parcel(xsend)

    response = xsend("export_list")

    assert response.status_code == 201
    export_list = the_list()
    assert export_list.status == S.DECLARED
    assert export_list.match_failures == []
    history = list(export_list.status_changes.values_list("to_status", flat=True))
    assert history == [S.PENDING_DOCUMENTS, S.MATCHED, S.DECLARED]


def test_a_waiting_list_is_declared_when_its_last_document_arrives(xsend: XSend) -> None:
    send_parcel(xsend, without=("export_waybill",))
    xsend("export_list")
    assert the_list().waiting_for == ["waybill"]

    assert xsend("export_waybill").status_code == 201

    assert the_list().status == S.DECLARED


def test_a_list_line_that_differs_from_its_order_line_fails_by_item(xsend: XSend) -> None:
    send_parcel(xsend)
    data = examples.document("export_list")
    data["items"][0].update({"qty": "3", "total_price": "89.70"})

    xsend("export_list", data)

    export_list = the_list()
    assert export_list.status == S.MATCH_FAILED
    failures = {(f["rule"], f.get("gnum"), f["field"]) for f in export_list.match_failures}
    assert ("list_items_match_order", 1, "items[gnum=1].qty") in failures
    assert ("list_items_match_order", 1, "items[gnum=1].total_price") in failures


def test_a_list_line_the_order_does_not_have_fails(xsend: XSend) -> None:
    send_parcel(xsend)
    data = examples.document("export_list")
    data["items"].append({**data["items"][0], "gnum": 2})

    xsend("export_list", data)

    failures = the_list().match_failures
    assert {"rule": "list_items_match_order", "field": "gnum", "gnum": 2, "list_value": "2"} in failures


def test_a_receipt_that_does_not_cover_the_order_fails(xsend: XSend) -> None:
    assert xsend("export_order").status_code == 201
    assert xsend("export_waybill").status_code == 201
    assert xsend("export_receipt", charge="59.80").status_code == 201

    xsend("export_list")

    failure = the_list().match_failures[0]
    assert failure == {"rule": "receipt_matches_order", "field": "charge", "list_value": "71.8", "other_value": "59.8"}


def test_a_waybill_weighing_otherwise_than_the_list_fails(xsend: XSend) -> None:
    send_parcel(xsend, without=("export_waybill",))
    assert xsend("export_waybill", gross_weight="1.2").status_code == 201

    xsend("export_list")

    assert the_list().match_failures == [
        {"rule": "waybill_matches_list", "field": "gross_weight", "list_value": "0.6", "other_value": "1.2"}
    ]


def test_a_b2b_list_needs_no_receipt_but_a_b2b_order(xsend: XSend) -> None:
    assert xsend("export_order").status_code == 201  # a B2C order (E)
    assert xsend("export_waybill").status_code == 201

    xsend("export_list", trade_mode="9710")

    export_list = the_list()
    assert export_list.waiting_for == []
    assert export_list.match_failures == [
        {"rule": "order_type_fits_trade_mode", "field": "trade_mode", "list_value": "9710", "other_value": "E"}
    ]


def test_a_corrected_list_is_checked_again_and_declared(xsend: XSend) -> None:
    send_parcel(xsend)
    data = examples.document("export_list")
    data["items"][0].update({"qty": "3", "total_price": "89.70"})
    xsend("export_list", data)

    response = xsend("export_list", app_type="2", app_time="20261203102000")

    assert response.status_code == 200, response.json()
    export_list = the_list()
    assert export_list.version == 2
    assert export_list.status == S.DECLARED


def test_an_order_a_declared_list_stands_on_can_no_longer_change(xsend: XSend) -> None:
    send_parcel(xsend)
    xsend("export_list")

    response = xsend("export_order", app_type="2", app_time="20261203102000")

    assert response.status_code == 409
    assert response.json()["code"] == "export_change_not_allowed_in_state"
    assert ExportOrder.objects.get().version == 1


# --- Arrival, release, departure ----------------------------------------------------------------


def test_a_departure_of_a_parcel_that_never_arrived_is_refused(xsend: XSend) -> None:
    send_parcel(xsend)
    xsend("export_list")
    released(the_list())

    response = xsend("export_departure")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "export_departure_not_arrived"
    assert body["errors"][0]["field"] == "items[0].logistics_no"
    assert not ExportDeparture.objects.exists()


def test_a_departure_before_the_list_is_released_is_refused(xsend: XSend) -> None:
    send_parcel(xsend)
    xsend("export_list")
    assert xsend("export_arrival").status_code == 201

    response = xsend("export_departure")

    assert response.status_code == 409
    assert response.json()["code"] == "export_departure_list_not_released"
    assert not ExportDeparture.objects.exists()


def test_no_list_may_be_declared_for_a_departed_parcel(xsend: XSend) -> None:
    send_parcel(xsend)
    xsend("export_list")
    xsend("export_arrival")
    released(the_list())
    assert xsend("export_departure").status_code == 201
    ExportList.objects.update(status=S.DELETED)  # its list gone, the parcel has still left

    response = xsend("export_list", app_time="20261203190000")

    assert response.status_code == 409
    assert response.json()["code"] == "export_parcel_departed"
    assert ExportList.objects.exclude(status=S.DELETED).count() == 0


def test_no_list_may_be_declared_for_a_summarised_parcel(xsend: XSend) -> None:
    send_parcel(xsend)
    xsend("export_list")
    ExportList.objects.update(status=S.SUMMARISED)

    response = xsend("export_list", cop_no="EXL20261203000002", order_no="EX20261203000002")

    assert response.status_code == 409
    assert response.json()["code"] == "export_parcel_summarised"
    assert ExportList.objects.count() == 1


def test_a_draft_list_for_a_departed_parcel_is_kept_but_not_declared(xsend: XSend) -> None:
    send_parcel(xsend)
    xsend("export_list")
    xsend("export_arrival")
    released(the_list())
    xsend("export_departure")
    ExportList.objects.update(status=S.DELETED)

    response = xsend("export_list", app_status="1", app_time="20261203190000")

    assert response.status_code == 201
    assert ExportList.objects.get(status=S.DRAFT)


# --- Cancellations ------------------------------------------------------------------------------


def test_the_agent_asks_to_cancel_a_released_list(xsend: XSend, export_clients: dict[str, APIClient]) -> None:
    send_parcel(xsend)
    xsend("export_list")
    export_list = released(the_list())

    response = export_clients["agent"].post(
        f"/api/v1/export/lists/{export_list.pk}/cancel", {"reason": "买家取消 The buyer cancelled"}, format="json"
    )

    assert response.status_code == 201, response.json()
    cancellation = ExportListCancellation.objects.get()
    assert cancellation.status == ExportListCancellation.Status.RECORDED
    assert response.json()["export_list_id"] == export_list.pk


def test_a_list_not_released_cannot_be_cancelled_and_a_stranger_cannot_see_it(
    xsend: XSend, export_clients: dict[str, APIClient]
) -> None:
    send_parcel(xsend)
    xsend("export_list")
    export_list = the_list()
    path = f"/api/v1/export/lists/{export_list.pk}/cancel"

    refused = export_clients["agent"].post(path, {"reason": "x"}, format="json")
    stranger = export_clients["outsider"].post(path, {"reason": "x"}, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "export_cancel_not_allowed_in_state"
    assert stranger.status_code == 404
    assert not ExportListCancellation.objects.exists()
