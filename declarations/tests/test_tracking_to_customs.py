"""A carrier's tracking, end to end through the API: the carrier reports its journey, the
delivery of a released parcel reaches customs as a signed CEB513, a delivery before release is
flagged and sends nothing, and the parcel's trace shows the journey."""

# The fixtures of the delivery-notice tests are imported by name, and pytest hands them in by name.
# ruff: noqa: F811

from __future__ import annotations

import datetime
from typing import Any

from rest_framework.test import APIClient

from declarations.customs import delivery
from declarations.models import Inventory, InventoryStatus, WaybillDeliveryNotice
from declarations.tests.helpers import Send
from declarations.tests.parcels import list_of, parcel, submit
from declarations.tests.test_delivery_notice import (  # noqa: F401
    RELEASED_AT,
    customs,
    logistics_keys,
    logistics_signing_key,
    released,
)
from logistics.models import WaybillTrack
from single_window.models import EnterpriseSigningKey, Event, OutboxMessage
from tests.partner_webhooks import SigningPartner

JOURNEY = ("picked_up", "departed", "arrived_hub", "at_customs", "released", "out_for_delivery", "delivered")


def journey(inventory: Inventory, *, start: datetime.datetime) -> list[dict[str, Any]]:
    return [
        {
            "logistics_code": inventory.logistics_code,
            "logistics_no": inventory.logistics_no,
            "status": status,
            "place": "杭州市西湖区文三路 1 号" if status == "delivered" else "杭州萧山国际机场",
            "occurred_at": (start + datetime.timedelta(hours=step)).isoformat(),
            "transport_mode": "air",
            "leg": 1,
        }
        for step, status in enumerate(JOURNEY)
    ]


def test_the_delivery_of_a_released_parcel_reaches_customs_as_a_signed_ceb513(
    released: Inventory,
    logistics_signing_key: EnterpriseSigningKey,
    customs: SigningPartner,
    clients: dict[str, APIClient],
) -> None:
    carrier = clients["logistics"]
    events = journey(released, start=RELEASED_AT - datetime.timedelta(hours=4))
    events.reverse()  # out of order: the timeline keeps time order

    answer = carrier.post("/api/v1/logistics/tracking-events", {"events": events}, format="json")
    again = carrier.post("/api/v1/logistics/tracking-events", {"events": events[:2]}, format="json")

    assert answer.status_code == 200, answer.content
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    notice = WaybillDeliveryNotice.objects.get()
    # In the outbox for customs (signed for the carrier); "sent" once the outbox delivered it.
    assert (notice.logistics_no, notice.status) == (released.logistics_no, "recorded")
    assert OutboxMessage.objects.filter(message_type=delivery.CEB513).count() == 1
    track = WaybillTrack.objects.get()
    assert (track.current_status, track.delivery_notice) == ("delivered", "sent")
    released.refresh_from_db()
    assert released.status == InventoryStatus.RELEASED  # only customs' 899 closes it

    trace = clients["ebc"].get(f"/api/v1/orders/{released.ebp_code}/{released.order_no}/trace").json()
    tracking = [e for e in trace["events"] if e["type"] == "tracking"]
    assert [e["status"] for e in tracking] == list(JOURNEY)
    assert tracking[-1]["place"] == ""  # the consignee's door stays off the trace
    assert trace["tracking"]["current_status"] == "delivered"


def test_a_delivery_before_release_is_flagged_and_sends_nothing(
    send: Send, customs: SigningPartner, logistics_signing_key: EnterpriseSigningKey, clients: dict[str, APIClient]
) -> None:
    docs = parcel(79)
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status != InventoryStatus.RELEASED

    delivered = journey(inventory, start=RELEASED_AT)[-1]
    answer = clients["logistics"].post("/api/v1/logistics/tracking-events", delivered, format="json")

    assert answer.status_code in {200, 201}, answer.content
    assert not WaybillDeliveryNotice.objects.exists()
    assert not OutboxMessage.objects.filter(message_type=delivery.CEB513).exists()
    assert WaybillTrack.objects.get().delivery_notice == "not_released_flagged"
    assert Event.objects.filter(type="logistics.delivered_before_release").exists()
