"""A list that names someone else's order.

Whether an enterprise may declare a list is decided from the list's own fields: it is the
list's e-commerce enterprise, or that enterprise's appointed agent. Such a list is taken
whether or not the order it names exists. But it matches only the order of its own
e-commerce enterprise, so a list naming another enterprise's order never matches it, never
shows it (or its payment and waybill) in the parcel's trace, and never takes the order's one
live list from the enterprise whose order it is.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from core import errors
from declarations.models import Inventory, InventoryStatus, RuleResult
from declarations.tests.helpers import EBP_CODE, Send, stored_rows
from declarations.tests.parcels import OTHER_DOCUMENTS, assert_declared, parcel, submit
from tests.factories import Persona, assert_problem

pytestmark = pytest.mark.usefixtures("parties")


def trace_url(order_no: str, ebp_code: str = EBP_CODE) -> str:
    return f"/api/v1/orders/{ebp_code}/{order_no}/trace"


def squatters_list(
    docs: dict[str, dict[str, Any]], outsider: Persona, cop_no: str = "COP-SQUAT-0001"
) -> dict[str, Any]:
    """The victim's list, rewritten by an outsider that declares it as its own e-commerce
    enterprise (which needs no appointment): the victim's platform, order, logistics and waybill."""
    return {
        **docs["inventory"],
        "ebc_code": outsider.code,
        "ebc_name": "Outsider Ltd",
        "agent_code": outsider.code,
        "agent_name": "Outsider Ltd",
        "assure_code": outsider.code,
        "cop_no": cop_no,
        "guid": "99999999-0000-4000-8000-000000000001",
    }


@pytest.fixture
def victims_documents(send: Send) -> dict[str, dict[str, Any]]:
    """The order, payment and waybill of a parcel; its own list is not declared yet."""
    docs = parcel(1)
    submit(send, docs, arrival=OTHER_DOCUMENTS)
    return docs


def test_an_outsiders_list_naming_a_victims_order_shows_it_nothing_of_the_victims_parcel(
    send: Send, clients: dict[str, APIClient], outsider: Persona, victims_documents: dict[str, dict[str, Any]]
) -> None:
    squat = send("inventory", squatters_list(victims_documents, outsider), by="outsider")
    assert squat.status_code == 201, squat.content

    response = clients["outsider"].get(trace_url(victims_documents["order"]["order_no"]))

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["order"], body["payment"], body["waybill"]) == (None, None, None)
    assert body["inventory"]["ebc_code"] == outsider.code
    text = response.content.decode()
    assert victims_documents["order"]["buyer_reg_no"] not in text
    assert victims_documents["payment"]["pay_transaction_id"] not in text
    # It never matched the victim's order: no rule compared the victim's figures with its own.
    squatter = Inventory.objects.get(cop_no="COP-SQUAT-0001")
    assert squatter.status == InventoryStatus.PENDING_DOCUMENTS
    assert "order" in squatter.waiting_for
    assert not RuleResult.objects.filter(inventory=squatter).exists()
    assert not [e for e in body["events"] if e["type"] == "rule_result"]


def test_an_outsiders_list_is_taken_the_same_whether_or_not_the_order_exists(
    send: Send, outsider: Persona, victims_documents: dict[str, dict[str, Any]]
) -> None:
    unknown_order = {**victims_documents, "inventory": {**victims_documents["inventory"], "order_no": "SW-NO-SUCH"}}

    known = send("inventory", squatters_list(victims_documents, outsider), by="outsider")
    unknown = send("inventory", squatters_list(unknown_order, outsider, cop_no="COP-SQUAT-0002"), by="outsider")

    assert (known.status_code, known.json()["status"]) == (unknown.status_code, unknown.json()["status"])
    assert (known.status_code, known.json()["status"]) == (201, "pending_documents")
    assert "order" in known.json()["waiting_for"]
    assert "order" in unknown.json()["waiting_for"]


def test_an_outsiders_list_does_not_block_the_real_list_which_is_declared(
    send: Send, clients: dict[str, APIClient], outsider: Persona, victims_documents: dict[str, dict[str, Any]]
) -> None:
    assert send("inventory", squatters_list(victims_documents, outsider), by="outsider").status_code == 201

    real = send("inventory", victims_documents["inventory"])

    assert real.status_code == 201, real.content
    inventory = Inventory.objects.get(cop_no=victims_documents["inventory"]["cop_no"])
    assert_declared(inventory)
    squatter = Inventory.objects.get(cop_no="COP-SQUAT-0001")
    assert squatter.status == InventoryStatus.PENDING_DOCUMENTS
    assert not RuleResult.objects.filter(inventory=squatter).exists()
    # The platform's trace shows the list that matched its order, not the outsider's.
    trace = clients["ebp"].get(trace_url(victims_documents["order"]["order_no"])).json()
    assert trace["inventory"]["id"] == inventory.pk


def test_a_second_list_of_the_same_seller_for_the_order_is_still_a_duplicate(
    send: Send, victims_documents: dict[str, dict[str, Any]]
) -> None:
    assert send("inventory", victims_documents["inventory"]).status_code == 201
    before = stored_rows()

    second = send("inventory", {**victims_documents["inventory"], "cop_no": "COP-SECOND-0001"})

    assert assert_problem(second, 409, "duplicate_document")["customs_code"] == "-621004"
    assert stored_rows() == before


def test_the_parties_of_the_matched_list_see_the_whole_parcel(
    send: Send, clients: dict[str, APIClient], victims_documents: dict[str, dict[str, Any]]
) -> None:
    assert send("inventory", victims_documents["inventory"]).status_code == 201

    for viewer in ("agent", "logistics", "ebc"):
        body = clients[viewer].get(trace_url(victims_documents["order"]["order_no"])).json()
        assert all(body[kind] is not None for kind in ("order", "payment", "waybill", "inventory")), viewer


def test_an_outsider_with_no_list_gets_not_found(
    clients: dict[str, APIClient], victims_documents: dict[str, dict[str, Any]]
) -> None:
    response = clients["outsider"].get(trace_url(victims_documents["order"]["order_no"]))

    assert_problem(response, 404, errors.NOT_FOUND)
