"""Every change over the API is audited.

A new document, a change, a deletion (JSON or customs XML) and a cancellation request each
write one audit entry in the same transaction: who (the enterprise), with which API key (its
prefix, in ``actor``), and a before/after of the fields that are not personal. Names, phones,
addresses and ID numbers (in any form) never reach the audit log. A refusal writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.models import AuditEntry
from declarations.intake import examples
from declarations.models import Inventory, InventoryCancellation, InventoryStatus, Order
from declarations.tests.customs_xml import message_xml, read_answer, returns
from declarations.tests.helpers import BUYER_ID, EBP_CODE, Send, url
from declarations.tests.parcels import buyer_hash
from tests.factories import Persona

pytestmark = pytest.mark.usefixtures("parties")

LATER, LATEST = "20261125150000", "20261125160000"
PERSONAL = ("张三", "13800138000", "浙江省", BUYER_ID, buyer_hash())
PERSONAL_FIELDS = {
    "buyer_name",
    "buyer_telephone",
    "consignee",
    "consignee_telephone",
    "consignee_address",
    "buyer_id_number_encrypted",
    "buyer_id_hash",
}


def entries(model: type[Any], pk: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type=model._meta.label_lower, object_id=str(pk)).order_by("id"))


def assert_nothing_personal(entry: AuditEntry) -> None:
    text = json.dumps([entry.before, entry.after], ensure_ascii=False)
    for value in PERSONAL:
        assert value not in text, (value, entry.action)
    for side in (entry.before, entry.after):
        assert PERSONAL_FIELDS.isdisjoint(side or {}), entry.action


def test_an_orders_creation_change_and_deletion_are_audited_with_the_key_and_no_personal_data(
    send: Send, ebp: Persona
) -> None:
    order_id = send("order").json()["id"]
    assert (
        send("order", app_type="2", app_time=LATER, note="地址更正", buyer_telephone="13700137000").status_code == 200
    )
    assert send("order", app_type="3", app_time=LATEST).status_code == 200

    created, changed, deleted = entries(Order, order_id)

    for entry in (created, changed, deleted):
        assert entry.actor == f"api:{ebp.api_key.prefix}"
        assert entry.actor_enterprise_id == ebp.enterprise.pk
        assert_nothing_personal(entry)
    assert [e.action for e in (created, changed, deleted)] == ["create", "update", "delete"]
    assert created.before is None
    assert created.after is not None
    assert (created.after["order_no"], created.after["ebp_code"], created.after["goods_value"]) == (
        examples.ORDER["order_no"],
        EBP_CODE,
        "398.00000",
    )
    assert [item["gnum"] for item in created.after["items"]] == [1, 2]
    # Only what changed, and only what is not personal (the new phone is not shown).
    assert changed.before is not None
    assert changed.after is not None
    assert {k: (changed.before[k], changed.after[k]) for k in ("note", "version", "app_type")} == {
        "note": (examples.ORDER.get("note", ""), "地址更正"),
        "version": (1, 2),
        "app_type": ("1", "2"),
    }
    assert deleted.after is not None
    assert deleted.after["status"] == "deleted"
    assert "app_type 3" in deleted.reason


def test_each_document_sent_in_an_xml_message_is_audited_with_the_key(
    clients: dict[str, APIClient], ebp: Persona
) -> None:
    second = {**examples.document("order"), "order_no": "SW20261125000002", "guid": examples.ORDER["guid"][:-1] + "2"}
    body = message_xml("order", [examples.document("order"), second], cop_code=EBP_CODE)

    results = returns(read_answer(clients["ebp"].post(url("order"), data=body, content_type="application/xml")))

    assert [r["returnStatus"] for r in results] == ["2", "2"]
    audited = AuditEntry.objects.filter(object_type="declarations.order", action="create")
    assert sorted(int(e.object_id) for e in audited) == sorted(Order.objects.values_list("pk", flat=True))
    assert {e.actor for e in audited} == {f"api:{ebp.api_key.prefix}"}


def test_a_cancellation_request_is_audited(send: Send, clients: dict[str, APIClient], agent: Persona) -> None:
    list_id = send("inventory").json()["id"]
    Inventory.objects.filter(pk=list_id).update(status=InventoryStatus.RELEASED)

    response = clients["agent"].post(f"/api/v1/inventories/{list_id}/cancel", {"reason": "买家取消订单"}, format="json")

    assert response.status_code == 201, response.content
    [entry] = entries(InventoryCancellation, InventoryCancellation.objects.get().pk)
    assert (entry.action, entry.actor, entry.actor_enterprise_id) == (
        "create",
        f"api:{agent.api_key.prefix}",
        agent.enterprise.pk,
    )
    assert entry.after is not None
    assert (entry.after["inventory"], entry.after["reason"]) == (list_id, "买家取消订单")


def test_a_refused_change_is_not_audited(send: Send) -> None:
    send("order")
    before = AuditEntry.objects.count()

    response = send("order", app_type="2", app_time="20261125000000")  # not later than the stored one

    assert response.status_code == 409
    assert AuditEntry.objects.count() == before
