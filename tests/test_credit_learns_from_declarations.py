"""Credit learns what happened to a list from the events the declarations publish, through the
hub's subscriptions, without either system knowing the other: a list sent through the API,
declared, and rejected by customs' signed receipt costs its e-commerce enterprise and its
declaring agent a customs rejection each, and the enterprise's report says so."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from credit import learning
from credit.models import CreditEvent, CreditEventKind, CreditProfile
from declarations.intake import examples
from declarations.models import Inventory, InventoryStatus
from declarations.tests.helpers import Send
from declarations.tests.test_receipts import ceb622, deliver, inventory_return
from single_window import subscriptions, tasks
from single_window.models import Event, PartnerKind
from tests.factories import Persona
from tests.partner_webhooks import register_partner

pytestmark = pytest.mark.django_db


def test_a_list_rejected_by_customs_costs_its_seller_and_its_agent_a_rejection_each(
    send: Send, parties: dict[str, Persona], clients: dict[str, APIClient]
) -> None:
    for kind in ("order", "payment", "waybill", "inventory"):
        assert send(kind).status_code == 201
    inventory = Inventory.objects.get(cop_no=examples.INVENTORY["cop_no"])
    assert inventory.status == InventoryStatus.DECLARED
    customs = register_partner("CUSTOMS-HZ", PartnerKind.CUSTOMS)

    deliver(customs, ceb622(inventory_return("100", "20261125140010", returnInfo="[-621003] 海关退单")))
    inventory.refresh_from_db()
    assert inventory.status == InventoryStatus.REJECTED

    tasks.run_event_subscriptions()

    rejections = CreditEvent.objects.filter(kind=CreditEventKind.CUSTOMS_REJECTION)
    seller, agent = parties["ebc"].enterprise, parties["agent"].enterprise
    assert sorted(rejections.values_list("enterprise_id", flat=True)) == sorted([seller.pk, agent.pk])
    # Each from its own copy of the change.
    for event in rejections:
        assert event.source_event_id is not None
        copy = Event.objects.get(pk=event.source_event_id)
        assert (copy.enterprise_id, copy.type, copy.payload["to_status"]) == (
            event.enterprise_id,
            learning.STATUS_CHANGED,
            "rejected",
        )
    assert CreditProfile.objects.get(enterprise=seller).score == 785
    # The list's whole history was learned, in order, and nothing more is left to learn.
    assert subscriptions.subscriptions_run(names=[learning.SUBSCRIBER])[learning.SUBSCRIBER].handled == 0
    report = clients["ebc"].get(f"/api/v1/credit/enterprises/{seller.code}").json()
    assert [(item["kind"], item["count"]) for item in report["explanation"]] == [("customs_rejection", 1)]
