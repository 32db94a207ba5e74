"""Risk control in the declare step, end to end: a list sent to review waits in the regulators'
queue, a regulator in scope approves (declared, then released by customs) or rejects it
(quota and reservations released), one out of scope can neither see nor act; a block stops the
list. Risk's participant is registered here as risk's ``AppConfig.ready`` does in production.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from core.models import AuditEntry
from declarations.clearance import lifecycle
from declarations.models import DeclareDecision, Inventory, InventoryStatus, QuotaReservation
from declarations.tests.helpers import Send
from declarations.tests.parcels import list_of, parcel, submit
from risk.defaults import RULES
from risk.models import Assessment, RiskHit, RiskRule, WatchListEntry
from risk.participant import RiskParticipant
from single_window import declare as contract
from single_window.models import Event, RegulatorScope
from single_window.roles import CUSTOMS_OFFICER

S = InventoryStatus
QUEUE = "/admin/declarations/inventoryinreview/"

pytestmark = pytest.mark.usefixtures("parties")


@pytest.fixture
def risk(db: None) -> Iterator[None]:
    """Risk's participant with only its watch-list rule on (the others judge nothing here)."""
    for code, name, kind, outcome, parameters in RULES:
        RiskRule.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "outcome": outcome, "parameters": parameters}
        )
    RiskRule.objects.exclude(code="watch_list").update(enabled=False)
    contract.register_participant(RiskParticipant())
    yield
    contract.unregister_participant("risk")


def watch(ebc_code: str, *, outcome: str) -> None:
    RiskRule.objects.filter(code="watch_list").update(outcome=outcome)
    WatchListEntry.objects.create(kind="enterprise", value=ebc_code, label=ebc_code)


def regulator(username: str, district: str) -> Client:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=CUSTOMS_OFFICER))
    RegulatorScope.objects.create(user=user, customs_district=district)
    client = Client()
    client.force_login(user)
    return client


def quota_state(inventory: Inventory) -> str:
    return QuotaReservation.objects.get(inventory=inventory).state


def events_of(inventory: Inventory, type_: str) -> list[Event]:
    return list(Event.objects.filter(type=type_, subject=f"inventory:{inventory.pk}"))


def in_review(send: Send, n: int) -> Inventory:
    docs = parcel(n)
    watch(docs["inventory"]["ebc_code"], outcome="review")
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == S.RISK_REVIEW
    return inventory


def conclude(client: Client, inventory: Inventory, decision: str, reason: str = "documents checked") -> Any:
    return client.post(f"{QUEUE}{inventory.pk}/change/", {"decision": decision, "reason": reason})


@pytest.mark.usefixtures("risk")
def test_a_review_puts_the_list_in_the_queue_and_tells_the_seller_and_its_agent(send: Send) -> None:
    inventory = in_review(send, 41)

    assert quota_state(inventory) == "reserved"
    [hit] = RiskHit.objects.filter(inventory_id=inventory.pk)
    assert (hit.rule_code, hit.outcome, hit.evidence["watch_list"]) == ("watch_list", "review", "enterprise")
    told = events_of(inventory, "inventory.risk_review")
    assert {e.enterprise_id for e in told} == {inventory.sender_id, *_ebc_ids(inventory)}
    assert told[0].payload["reasons"] == ["watch_list"]


def _ebc_ids(inventory: Inventory) -> set[int]:
    return set(
        Event.objects.filter(subject=f"inventory:{inventory.pk}", enterprise__customs_code=inventory.ebc_code)
        .values_list("enterprise_id", flat=True)
        .distinct()
    )


@pytest.mark.usefixtures("risk")
def test_a_regulator_in_scope_approves_and_the_list_is_declared_then_released_by_customs(send: Send) -> None:
    inventory = in_review(send, 42)
    officer = regulator("officer", "2901")
    assert officer.get(QUEUE).status_code == 200
    assert inventory.cop_no in officer.get(QUEUE).content.decode()

    response = conclude(officer, inventory, "approve")

    assert response.status_code == 302
    inventory.refresh_from_db()
    assert inventory.status == S.DECLARED
    assessment = Assessment.objects.get(inventory_id=inventory.pk)
    assert (assessment.review, assessment.review_reason) == ("approved", "documents checked")
    assert DeclareDecision.objects.get(inventory=inventory, system="risk").verdict == "pass"
    assert events_of(inventory, "inventory.risk_cleared")
    entry = AuditEntry.objects.get(
        object_type="declarations.inventory", object_id=str(inventory.pk), actor__startswith="admin:"
    )
    assert (entry.actor, entry.reason, entry.after) == ("admin:officer", "documents checked", {"status": "declared"})
    # Customs takes and releases it: the quota and risk's reservation are used.
    now = timezone.now()
    for n, code in enumerate(("120", "800")):
        lifecycle.inventory_apply_receipt(
            inventory=inventory,
            receipt_code=code,
            receipt_time=now + datetime.timedelta(seconds=n),
            message_id=f"00000000-0000-4000-8000-00000000004{n}",
        )
    assert inventory.status == S.RELEASED
    assert quota_state(inventory) == "consumed"
    assert Assessment.objects.get(inventory_id=inventory.pk).state == "consumed"


@pytest.mark.usefixtures("risk")
def test_a_regulator_in_scope_rejects_and_the_quota_and_every_reservation_are_released(send: Send) -> None:
    inventory = in_review(send, 43)
    officer = regulator("officer", "2901")

    assert conclude(officer, inventory, "reject", reason="").status_code == 200  # a reason is required
    inventory.refresh_from_db()
    assert inventory.status == S.RISK_REVIEW

    conclude(officer, inventory, "reject", reason="invoice forged")

    inventory.refresh_from_db()
    assert inventory.status == S.RISK_REJECTED
    assert quota_state(inventory) == "released"
    assert DeclareDecision.objects.get(inventory=inventory, system="risk").state == "released"
    assessment = Assessment.objects.get(inventory_id=inventory.pk)
    assert (assessment.state, assessment.outcome, assessment.review) == ("released", "risk_rejected", "rejected")
    entry = AuditEntry.objects.get(
        object_type="declarations.inventory", object_id=str(inventory.pk), actor__startswith="admin:"
    )
    assert (entry.reason, entry.after) == ("invoice forged", {"status": "risk_rejected"})


@pytest.mark.usefixtures("risk")
def test_a_regulator_of_another_district_neither_sees_nor_concludes_the_review(send: Send) -> None:
    inventory = in_review(send, 44)
    far = regulator("far", "3104")

    assert inventory.cop_no not in far.get(QUEUE).content.decode()
    assert far.get(f"{QUEUE}{inventory.pk}/change/").status_code == 302  # "does not exist"
    response = conclude(far, inventory, "approve")

    assert response.status_code == 302
    inventory.refresh_from_db()
    assert inventory.status == S.RISK_REVIEW
    assert not AuditEntry.objects.filter(
        object_type="declarations.inventory", object_id=str(inventory.pk), actor__startswith="admin:"
    ).exists()


@pytest.mark.usefixtures("risk")
def test_a_block_stops_the_list_releases_the_quota_and_tells_the_seller(send: Send) -> None:
    docs = parcel(45)
    watch(docs["inventory"]["ebc_code"], outcome="block")

    submit(send, docs)

    inventory = list_of(docs)
    assert inventory.status == S.RISK_BLOCKED
    assert quota_state(inventory) == "released"
    assert Assessment.objects.get(inventory_id=inventory.pk).state == "released"
    assert events_of(inventory, "inventory.risk_blocked")[0].payload["reasons"] == ["watch_list"]
    assert inventory.dispatch_requested_at is None
