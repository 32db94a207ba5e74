"""The declaring agent's appointment, checked again when it matters.

Intake checks that an agent declaring a list holds an appointment in force from the list's
e-commerce enterprise. A list may wait days for its documents, or be held by the declare step:
an appointment revoked or expired meanwhile fails the list (rule ``agent_appointed``) instead of
sending it to customs in the name of an agent nobody appoints any more.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from declarations.clearance import match_rules
from declarations.models import InventoryStatus, QuotaReservation, RuleResult
from declarations.tests.helpers import AGENT_CODE, EBC_CODE, Send
from declarations.tests.parcels import OTHER_DOCUMENTS, assert_declared, failed_results, list_of, parcel, submit
from declarations.tests.test_declare_step import System, answer
from single_window import declare as contract
from single_window import selectors, services
from single_window.models import Appointment
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.usefixtures("parties")

S = InventoryStatus


def revoke(appointment: Appointment) -> None:
    services.appointment_revoke(appointment=appointment, actor=TEST_ACTOR)


def expire(appointment: Appointment) -> None:
    Appointment.objects.filter(pk=appointment.pk).update(valid_to=selectors.today() - datetime.timedelta(days=1))


LAPSES = [pytest.param(revoke, id="revoked"), pytest.param(expire, id="expired")]


@pytest.mark.parametrize("lapse", LAPSES)
def test_a_list_whose_agent_lost_its_appointment_while_waiting_fails_matching_and_is_not_declared(
    send: Send, agent_appointment: Appointment, lapse: object
) -> None:
    docs = parcel(1)
    submit(send, docs, arrival=("inventory",))
    assert list_of(docs).status == S.PENDING_DOCUMENTS
    lapse(agent_appointment)  # type: ignore[operator]

    submit(send, docs, arrival=OTHER_DOCUMENTS)

    inventory = list_of(docs)
    assert inventory.status == S.MATCH_FAILED
    assert inventory.dispatch_requested_at is None
    assert (match_rules.AGENT_APPOINTED, "agent_code", AGENT_CODE, EBC_CODE, "-621016") in failed_results(inventory)
    assert not QuotaReservation.objects.filter(inventory=inventory, state=QuotaReservation.State.RESERVED).exists()
    last = inventory.status_changes.order_by("id").last()
    assert last is not None
    assert (last.to_status, last.source) == (S.MATCH_FAILED, "single_window")


def test_a_list_the_e_commerce_enterprise_declares_itself_needs_no_appointment(
    send: Send, agent_appointment: Appointment
) -> None:
    docs = parcel(2)
    docs["inventory"].update(agent_code=EBC_CODE, agent_name=docs["inventory"]["ebc_name"])
    revoke(agent_appointment)

    submit(send, {**docs, "inventory": docs["inventory"]}, arrival=OTHER_DOCUMENTS)
    response = send("inventory", docs["inventory"], by="ebc")

    assert response.status_code == 201, response.content
    assert_declared(list_of(docs))


@pytest.fixture
def holding_system() -> Iterator[System]:
    system = System("alpha", decision=answer(contract.Verdict.HOLD, "guarantee_insufficient"))
    contract.register_participant(system)
    yield system
    contract.unregister_participant(system.name)


def test_a_held_list_whose_agent_lost_its_appointment_fails_when_it_is_judged_again(
    send: Send, agent_appointment: Appointment, holding_system: System
) -> None:
    docs = parcel(3)
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == S.HELD
    revoke(agent_appointment)
    holding_system.decision = contract.Decision.passed()

    contract.reconsider(inventory_id=inventory.pk)

    inventory.refresh_from_db()
    assert inventory.status == S.MATCH_FAILED
    assert inventory.dispatch_requested_at is None
    assert RuleResult.objects.filter(
        inventory=inventory, rule=match_rules.AGENT_APPOINTED, outcome=RuleResult.Outcome.FAILED
    ).exists()
    assert not QuotaReservation.objects.filter(inventory=inventory, state=QuotaReservation.State.RESERVED).exists()
