"""GET /api/v1/orders/{ebp_code}/{order_no}/trace: a parcel's documents, tax estimate, status
changes and rule results in time order, as each party may see them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from core import errors
from declarations.models import Inventory, InventoryStatusChange, Order, Payment, RuleResult, Waybill
from declarations.tests.helpers import EBP_CODE, SENDER_OF, Send, stored_rows
from declarations.tests.parcels import BUYER_ID, buyer_hash, list_of, parcel, submit
from tests.factories import assert_problem

pytestmark = pytest.mark.usefixtures("parties")

MASKED_ID = "330*************36"
PHONE, MASKED_PHONE = "13800138000", "138****8000"
NAME, MASKED_NAME = "张三", "张*"
ADDRESS = "浙江省杭州市西湖区文三路100号"


def trace_url(order_no: str, ebp_code: str = EBP_CODE) -> str:
    return f"/api/v1/orders/{ebp_code}/{order_no}/trace"


def refs(docs: dict[str, dict[str, Any]]) -> dict[str, str]:
    order_no = docs["order"]["order_no"]
    rows = {
        "order": Order.objects.get(order_no=order_no),
        "payment": Payment.objects.get(order_no=order_no),
        "waybill": Waybill.objects.get(logistics_no=docs["waybill"]["logistics_no"]),
        "inventory": Inventory.objects.get(order_no=order_no),
    }
    return {kind: f"{kind}:{row.pk}" for kind, row in rows.items()}


def assert_in_time_order(events: list[dict[str, Any]]) -> None:
    times = [datetime.datetime.fromisoformat(event["at"]) for event in events]
    assert times == sorted(times)
    assert all(t.utcoffset() == datetime.timedelta(hours=8) for t in times)


@pytest.fixture
def declared(send: Send) -> dict[str, dict[str, Any]]:
    """The example parcel, its documents sent one after another, the list last: declared."""
    docs = parcel(1)
    submit(send, docs)
    return docs


def test_the_trace_of_a_declared_parcel_has_everything_in_time_order(
    declared: dict[str, dict[str, Any]], clients: dict[str, APIClient]
) -> None:
    order_no = declared["order"]["order_no"]

    response = clients["ebp"].get(trace_url(order_no))

    assert response.status_code == 200, response.content
    body = response.json()
    inventory = list_of(declared)
    ids = refs(declared)
    assert (body["ebp_code"], body["order_no"]) == (EBP_CODE, order_no)
    for kind in ("order", "payment", "waybill", "inventory"):
        assert body[kind] is not None, kind
        assert f"{kind}:{body[kind]['id']}" == ids[kind]
    assert (body["inventory"]["status"], body["inventory"]["waiting_for"]) == (inventory.status, []) == ("declared", [])
    assert body["order"]["order_no"] == body["payment"]["order_no"] == body["inventory"]["order_no"] == order_no
    assert body["waybill"]["logistics_no"] == declared["waybill"]["logistics_no"]
    assert body["tax_estimate"]["mode"] == "within_limits"
    assert (body["tax_estimate"]["dutiable_total"], body["tax_estimate"]["tax_total"]) == ("408.00", "37.13")
    assert [i["gnum"] for i in body["tax_estimate"]["items"]] == [1, 2]

    events = body["events"]
    assert_in_time_order(events)
    received = [e["document"] for e in events if e["type"] == "document_received"]
    assert received == [ids["order"], ids["payment"], ids["waybill"], ids["inventory"]]
    moves = [(e["from_status"], e["to_status"], e["source"]) for e in events if e["type"] == "status_change"]
    assert moves == [
        ("", "pending_documents", "enterprise"),
        ("pending_documents", "matched", "single_window"),
        ("matched", "declared", "single_window"),
    ]
    assert moves == list(
        InventoryStatusChange.objects.filter(inventory=inventory).values_list("from_status", "to_status", "source")
    )
    results = [(e["rule"], e["outcome"], e["run"]) for e in events if e["type"] == "rule_result"]
    assert sorted(results) == sorted(
        RuleResult.objects.filter(inventory=inventory).values_list("rule", "outcome", "run")
    )
    # Every document rule, the positive list, the two quota rules.
    assert len(results) == 15
    assert {outcome for _rule, outcome, _run in results} == {"passed"}
    # The rules ran once the list was there, and decided before the list moved on.
    kinds = [e["type"] for e in events]
    assert kinds.index("rule_result") > kinds.index("status_change")
    last_result = len(kinds) - 1 - kinds[::-1].index("rule_result")
    matched = next(i for i, e in enumerate(events) if e.get("to_status") == "matched")
    assert last_result < matched


def test_what_the_caller_did_not_send_is_masked_and_no_id_number_is_shown(
    declared: dict[str, dict[str, Any]], clients: dict[str, APIClient]
) -> None:
    response = clients["ebp"].get(trace_url(declared["order"]["order_no"]))

    assert response.status_code == 200, response.content
    body = response.json()
    # The platform sent the order: it sees its buyer; the others' personal data is masked.
    assert (body["order"]["buyer_name"], body["order"]["buyer_telephone"]) == (NAME, PHONE)
    assert (body["payment"]["payer_name"], body["payment"]["telephone"]) == (MASKED_NAME, MASKED_PHONE)
    assert (body["waybill"]["consignee"], body["waybill"]["consignee_telephone"]) == (MASKED_NAME, MASKED_PHONE)
    assert body["waybill"]["consignee_address"] != ADDRESS
    assert (body["inventory"]["buyer_name"], body["inventory"]["buyer_telephone"]) == (MASKED_NAME, MASKED_PHONE)
    assert body["inventory"]["consignee_address"] != ADDRESS
    # ID numbers are masked for everyone, the sender too.
    assert body["order"]["buyer_id_number"] == body["inventory"]["buyer_id_number"] == MASKED_ID
    assert body["payment"]["payer_id_number"] == MASKED_ID
    assert BUYER_ID not in response.content.decode()
    assert buyer_hash() not in response.content.decode()


EVERY_DOCUMENT = ("order", "payment", "waybill", "inventory")
NAME_FIELD = {"order": "buyer_name", "payment": "payer_name", "waybill": "consignee", "inventory": "buyer_name"}


@pytest.mark.parametrize(
    ("viewer", "documents"),
    [
        # Parties named on the list see the whole parcel.
        ("ebc", EVERY_DOCUMENT),
        ("agent", EVERY_DOCUMENT),
        ("logistics", EVERY_DOCUMENT),
        # The payment enterprise is named on the order and the payment only.
        ("pay", ("order", "payment")),
    ],
)
def test_each_party_sees_in_full_only_what_it_sent(
    declared: dict[str, dict[str, Any]], clients: dict[str, APIClient], viewer: str, documents: tuple[str, ...]
) -> None:
    response = clients[viewer].get(trace_url(declared["order"]["order_no"]))

    assert response.status_code == 200, response.content
    body = response.json()
    assert tuple(kind for kind in EVERY_DOCUMENT if body[kind] is not None) == documents
    assert (body["tax_estimate"] is not None) == ("inventory" in documents)
    own = [kind for kind, sender in SENDER_OF.items() if sender == viewer]
    for kind in documents:
        assert body[kind][NAME_FIELD[kind]] == (NAME if kind in own else MASKED_NAME), kind
    text = response.content.decode()
    assert BUYER_ID not in text
    if not own:
        assert PHONE not in text
        assert NAME not in text
    assert Inventory.objects.get().status == "declared"


def test_an_outsider_gets_not_found_and_nothing_changes(
    declared: dict[str, dict[str, Any]], clients: dict[str, APIClient]
) -> None:
    before = stored_rows()

    response = clients["outsider"].get(trace_url(declared["order"]["order_no"]))

    body = assert_problem(response, 404, errors.NOT_FOUND)
    assert "张" not in response.content.decode()
    assert body.keys().isdisjoint({"order", "events"})
    assert stored_rows() == before
    assert list_of(declared).status == "declared"


def test_an_unknown_order_is_not_found(declared: dict[str, dict[str, Any]], clients: dict[str, APIClient]) -> None:
    assert_problem(clients["ebp"].get(trace_url("SW-NO-SUCH-ORDER")), 404, errors.NOT_FOUND)
    assert_problem(clients["ebp"].get(trace_url(declared["order"]["order_no"], "3301969999")), 404, errors.NOT_FOUND)


def test_the_trace_of_a_failed_parcel_shows_the_failing_rule_and_its_values(
    send: Send, clients: dict[str, APIClient]
) -> None:
    docs = parcel(1)
    docs["waybill"]["consignee_telephone"] = "13912345678"
    submit(send, docs)

    response = clients["ebp"].get(trace_url(docs["order"]["order_no"]))

    assert response.status_code == 200, response.content
    body = response.json()
    ids = refs(docs)
    assert body["inventory"]["status"] == list_of(docs).status == "match_failed"
    assert body["tax_estimate"] is None
    events = body["events"]
    assert_in_time_order(events)
    failed = [e for e in events if e["type"] == "rule_result" and e["outcome"] == "failed"]
    assert [
        (e["rule"], e["field"], e["list_value"], e["other_value"], e["documents"], e["customs_code"]) for e in failed
    ] == [
        (
            "waybill_consignee_matches_order",
            "consignee_telephone",
            "139****5678",
            MASKED_PHONE,
            [ids["waybill"], ids["order"]],
            "",
        )
    ]
    assert failed[0]["run"] == 1
    last = [e for e in events if e["type"] == "status_change"][-1]
    assert (last["from_status"], last["to_status"]) == ("pending_documents", "match_failed")
    assert "waybill_consignee_matches_order" in last["note"]
    assert "13912345678" not in response.content.decode()
    assert RuleResult.objects.filter(outcome="failed").count() == 1
