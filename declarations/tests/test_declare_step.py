"""The declare step: a matched list reaches customs only when every registered system lets it.

The systems here are test participants registered with the hub's declare step, as risk,
finance and logistics register theirs: they record what they were asked and told.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from core.crypto import lookup_hash
from declarations.clearance import declare, facts, lifecycle
from declarations.customs import gateway
from declarations.models import (
    BuyerYearQuota,
    DeclareDecision,
    Inventory,
    InventoryStatus,
    RuleResult,
    StatusChangeSource,
    TaxEstimate,
)
from declarations.tests.helpers import Send
from declarations.tests.parcels import buyer_hash, list_of, parcel, submit
from single_window import declare as contract
from tests.factories import Persona

S = InventoryStatus


@dataclass
class System:
    """A participant that answers what it is set to and records every call."""

    name: str
    decision: contract.Decision = field(default_factory=contract.Decision.passed)
    fails: bool = False
    asked: list[contract.ListFacts] = field(default_factory=list)
    told: list[tuple[str, contract.ListRef, str]] = field(default_factory=list)

    def reserve(self, facts: contract.ListFacts) -> contract.Decision:
        self.asked.append(facts)
        if self.fails:
            msg = "the system's database is away"
            raise ConnectionError(msg)
        return self.decision

    def consume(self, ref: contract.ListRef) -> None:
        self.told.append(("consume", ref, ""))

    def release(self, ref: contract.ListRef, *, outcome: str) -> None:
        self.told.append(("release", ref, outcome))


def answer(verdict: contract.Verdict, code: str = "", **kwargs: Any) -> contract.Decision:
    reasons = (contract.Reason(code, f"{code} said so", {"figure": "42"}),) if code else ()
    return contract.Decision(verdict, reasons, **kwargs)


@pytest.fixture
def systems() -> Iterator[dict[str, System]]:
    made = {"alpha": System("alpha"), "zeta": System("zeta")}
    for system in made.values():
        contract.register_participant(system)
    yield made
    for name in made:
        contract.unregister_participant(name)


def ref_of(inventory: Inventory) -> contract.ListRef:
    return contract.ListRef(inventory.pk, inventory.version)


def quota_reserved() -> Decimal:
    return sum((row.reserved for row in BuyerYearQuota.objects.filter(buyer_id_hash=buyer_hash())), Decimal(0))


def rules_of(inventory: Inventory) -> dict[str, tuple[str, str]]:
    return {
        r.rule: (r.outcome, r.note) for r in RuleResult.objects.filter(inventory=inventory, rule__startswith="declare")
    }


# --- Deciding ------------------------------------------------------------------------------------


def test_a_list_every_system_passes_is_declared_and_each_answer_is_recorded(
    send: Send, systems: dict[str, System]
) -> None:
    docs = parcel(1)

    submit(send, docs)

    inventory = list_of(docs)
    assert inventory.status == S.DECLARED
    assert [f.ref for f in systems["alpha"].asked] == [ref_of(inventory)]
    assert [f.ref for f in systems["zeta"].asked] == [ref_of(inventory)]
    assert set(DeclareDecision.objects.filter(inventory=inventory).values_list("system", "version", "verdict")) == {
        ("alpha", 1, "pass"),
        ("zeta", 1, "pass"),
    }
    assert rules_of(inventory) == {"declare:alpha": ("passed", "pass"), "declare:zeta": ("passed", "pass")}
    # The gateway is off in these tests: the dispatch ran after the commit and found nothing to send.
    assert inventory.dispatch_requested_at is None


def test_the_facts_name_the_parties_and_carry_personal_data_only_as_keyed_hashes(
    send: Send, systems: dict[str, System], agent: Persona
) -> None:
    docs = parcel(2)

    submit(send, docs)

    [seen] = systems["alpha"].asked
    inventory = list_of(docs)
    assert (seen.ebp_code, seen.ebc_code, seen.agent_code, seen.assure_code, seen.logistics_code) == (
        inventory.ebp_code,
        inventory.ebc_code,
        inventory.agent_code,
        inventory.assure_code,
        inventory.logistics_code,
    )
    assert (seen.customs_code, seen.port_code, seen.trade_mode) == ("2901", "2901", "9610")
    assert agent.enterprise.park is not None
    assert seen.park_code == agent.enterprise.park.code  # no area enterprise: the agent's park
    assert seen.buyer_hash == inventory.buyer_id_hash
    phone = facts.normalise_phone(docs["waybill"]["consignee_telephone"])
    assert seen.consignee_phone_hash == lookup_hash(phone, purpose=facts.PHONE_PURPOSE)
    assert [(i.gnum, i.gcode, i.total_price) for i in seen.items] == [
        (item.gnum, item.gcode, item.total_price) for item in inventory.items.all()
    ]
    estimate = TaxEstimate.objects.get(inventory=inventory)
    assert seen.tax is not None
    assert seen.tax.tax_total == estimate.tax_total
    text = repr(seen)
    for personal in (docs["inventory"]["buyer_name"], docs["inventory"]["buyer_id_number"], phone):
        assert personal not in text


def test_a_review_sends_the_list_to_the_review_queue_and_nothing_goes_to_customs(
    send: Send, systems: dict[str, System]
) -> None:
    systems["zeta"].decision = answer(contract.Verdict.REVIEW, "watch_list")
    docs = parcel(3)

    submit(send, docs)

    inventory = list_of(docs)
    assert inventory.status == S.RISK_REVIEW
    # It waits for a regulator, not for a deadline.
    assert inventory.held_until is None
    assert inventory.dispatch_requested_at is None
    assert rules_of(inventory)["declare:zeta"] == ("failed", "review watch_list")
    decision = DeclareDecision.objects.get(inventory=inventory, system="zeta")
    assert decision.reasons == [{"code": "watch_list", "message": "watch_list said so", "evidence": {"figure": "42"}}]
    # In review, not failed: the buyer's quota stays reserved for it.
    assert quota_reserved() > 0


def test_a_hold_holds_the_list_until_the_default_deadline(send: Send, systems: dict[str, System]) -> None:
    systems["zeta"].decision = answer(contract.Verdict.HOLD, "guarantee_insufficient")
    docs = parcel(13)
    before = timezone.now()

    submit(send, docs)

    inventory = list_of(docs)
    assert inventory.status == S.HELD
    assert inventory.held_until is not None
    expected = before + datetime.timedelta(seconds=settings.DECLARE_HOLD_SECONDS)
    assert (
        expected <= inventory.held_until <= timezone.now() + datetime.timedelta(seconds=settings.DECLARE_HOLD_SECONDS)
    )
    assert inventory.dispatch_requested_at is None
    assert quota_reserved() > 0


def test_a_block_stops_the_list_and_gives_back_what_the_others_and_the_quota_held(
    send: Send, systems: dict[str, System]
) -> None:
    systems["zeta"].decision = answer(contract.Verdict.BLOCK, "watch_list_enterprise")
    docs = parcel(4)

    submit(send, docs)

    inventory = list_of(docs)
    assert inventory.status == S.RISK_BLOCKED
    assert ("release", ref_of(inventory), "risk_blocked") in systems["alpha"].told
    assert set(DeclareDecision.objects.filter(inventory=inventory).values_list("system", "state")) == {
        ("alpha", "released"),
        ("zeta", "released"),
    }
    assert quota_reserved() == 0
    last = lifecycle.inventory_history(inventory=inventory).last()
    assert last is not None
    assert (last.to_status, last.note) == ("risk_blocked", "blocked: zeta: block watch_list_enterprise")


def test_a_system_that_changes_its_mind_has_the_held_list_declared(send: Send, systems: dict[str, System]) -> None:
    systems["alpha"].decision = answer(contract.Verdict.HOLD, "guarantee_insufficient")
    docs = parcel(5)
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == S.HELD

    systems["alpha"].decision = contract.Decision.passed()
    contract.reconsider(inventory_id=inventory.pk)

    inventory.refresh_from_db()
    assert inventory.status == S.DECLARED
    assert DeclareDecision.objects.get(inventory=inventory, system="alpha").verdict == "pass"


def test_a_held_list_still_waiting_at_its_deadline_fails_with_declare_timeout(
    send: Send, systems: dict[str, System]
) -> None:
    deadline = timezone.now() + datetime.timedelta(minutes=30)
    systems["alpha"].decision = answer(contract.Verdict.HOLD, "stock_short", hold_until=deadline)
    docs = parcel(6)
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.held_until == deadline

    assert declare.held_sweep(now=deadline - datetime.timedelta(seconds=1)) == 0
    assert declare.held_sweep(now=deadline) == 1

    inventory.refresh_from_db()
    assert inventory.status == S.MATCH_FAILED
    assert rules_of(inventory)[declare.DECLARE_TIMEOUT] == ("failed", "alpha: hold stock_short")
    assert ("release", ref_of(inventory), "match_failed") in systems["alpha"].told
    assert quota_reserved() == 0


def test_a_system_that_fails_to_answer_holds_the_list_and_is_asked_again_rather_than_failing_it(
    send: Send, systems: dict[str, System]
) -> None:
    systems["alpha"].fails = True
    docs = parcel(7)
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == S.HELD
    assert rules_of(inventory)["declare:alpha"] == ("failed", f"hold {declare.SYSTEM_UNAVAILABLE}")

    later = timezone.now() + declare.UNAVAILABLE_RETRY
    declare.held_sweep(now=later)
    inventory.refresh_from_db()
    assert inventory.status == S.HELD  # still unanswered: asked again, not failed

    systems["alpha"].fails = False
    declare.held_sweep(now=later + declare.UNAVAILABLE_RETRY + datetime.timedelta(seconds=1))
    inventory.refresh_from_db()
    assert inventory.status == S.DECLARED


def test_a_changed_order_sends_a_list_in_review_back_to_matching(send: Send, systems: dict[str, System]) -> None:
    systems["zeta"].decision = answer(contract.Verdict.REVIEW, "price_anomaly")
    docs = parcel(8)
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == S.RISK_REVIEW

    changed = {**docs["order"], "app_type": "2", "app_time": "20261125110000", "note": "corrected"}
    response = send("order", changed)

    assert response.status_code == 200, response.content
    inventory.refresh_from_db()
    moves = [(c.from_status, c.to_status) for c in lifecycle.inventory_history(inventory=inventory)]
    assert moves[-3:] == [
        ("risk_review", "pending_documents"),
        ("pending_documents", "matched"),
        ("matched", "risk_review"),
    ]
    assert ("release", ref_of(inventory), "pending_documents") in systems["zeta"].told
    assert len(systems["zeta"].asked) == 2


def test_registering_a_system_twice_is_an_error_at_start_up(systems: dict[str, System]) -> None:
    with pytest.raises(ImproperlyConfigured):
        contract.register_participant(System("alpha"))


# --- What the systems are told as the list moves on ----------------------------------------------


@pytest.fixture
def declared(send: Send, systems: dict[str, System]) -> Inventory:
    docs = parcel(9)
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == S.DECLARED
    return inventory


def receipt(inventory: Inventory, code: str, time: str) -> None:
    at = datetime.datetime.strptime(time, "%Y%m%d%H%M%S").replace(tzinfo=datetime.UTC)
    lifecycle.inventory_apply_receipt(inventory=inventory, receipt_code=code, receipt_time=at, message_id=f"R{code}")


def test_release_by_customs_consumes_every_answer(declared: Inventory, systems: dict[str, System]) -> None:
    receipt(declared, "120", "20261125120000")
    receipt(declared, "800", "20261125130000")

    for system in systems.values():
        assert system.told == [("consume", ref_of(declared), "")]
    assert set(DeclareDecision.objects.filter(inventory=declared).values_list("state", flat=True)) == {"consumed"}


def test_a_final_rejection_releases_every_answer(declared: Inventory, systems: dict[str, System]) -> None:
    receipt(declared, "100", "20261125120000")

    assert declared.status == S.REJECTED
    for system in systems.values():
        assert system.told == [("release", ref_of(declared), "rejected")]


def test_a_cancellation_after_release_gives_back_what_the_release_consumed(
    declared: Inventory, systems: dict[str, System]
) -> None:
    receipt(declared, "800", "20261125130000")

    lifecycle.inventory_transition(
        inventory=declared, to=S.CANCELLED, source=StatusChangeSource.SINGLE_WINDOW, note="CEB624 399"
    )

    ref = ref_of(declared)
    for system in systems.values():
        assert system.told == [("consume", ref, ""), ("release", ref, "cancelled")]


def test_closing_a_released_list_tells_the_systems_nothing_more(
    declared: Inventory, systems: dict[str, System]
) -> None:
    receipt(declared, "800", "20261125130000")
    receipt(declared, "899", "20261126090000")

    for system in systems.values():
        assert system.told == [("consume", ref_of(declared), "")]


def test_each_answer_is_released_once_whatever_moves_follow(declared: Inventory, systems: dict[str, System]) -> None:
    receipt(declared, "100", "20261125120000")
    lifecycle.inventory_transition(inventory=declared, to=S.DELETED, source=StatusChangeSource.ENTERPRISE)

    for system in systems.values():
        assert system.told == [("release", ref_of(declared), "rejected")]


# --- Dispatch ---------------------------------------------------------------------------------------


def test_a_mark_newer_than_the_sweeps_delay_is_left_to_its_own_dispatch(declared: Inventory) -> None:
    Inventory.objects.filter(pk=declared.pk).update(dispatch_requested_at=timezone.now())

    assert gateway.dispatch_sweep() == 0


# --- Given up in send_failed -------------------------------------------------------------------------


def test_a_list_left_in_send_failed_is_given_up_and_its_quota_and_reservations_released(
    declared: Inventory, systems: dict[str, System]
) -> None:
    lifecycle.inventory_transition(inventory=declared, to=S.SEND_FAILED, source=StatusChangeSource.SINGLE_WINDOW)
    assert quota_reserved() > 0
    soon = timezone.now() + datetime.timedelta(seconds=settings.SEND_FAILED_GIVE_UP_SECONDS - 60)
    later = timezone.now() + datetime.timedelta(seconds=settings.SEND_FAILED_GIVE_UP_SECONDS + 1)

    assert declare.send_failed_sweep(now=soon) == 0
    assert declare.send_failed_sweep(now=later) == 1

    declared.refresh_from_db()
    assert declared.status == S.SEND_FAILED
    assert quota_reserved() == 0
    for system in systems.values():
        assert system.told == [("release", ref_of(declared), "send_failed")]
    assert declare.send_failed_sweep(now=later) == 0  # released once


def test_a_change_of_a_send_failed_list_declares_it_again(
    send: Send, declared: Inventory, systems: dict[str, System]
) -> None:
    lifecycle.inventory_transition(inventory=declared, to=S.SEND_FAILED, source=StatusChangeSource.SINGLE_WINDOW)
    docs = parcel(9)

    response = send("inventory", {**docs["inventory"], "app_type": "2", "app_time": "20261125120000"})

    assert response.status_code == 200, response.content
    declared.refresh_from_db()
    assert (declared.status, declared.version) == (S.DECLARED, 2)
    assert quota_reserved() > 0
