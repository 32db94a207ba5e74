"""Credit learns from the events the lists' parties are told: each kind moves the score of the
parties that answer for the list, once each, and the score decays with time."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.audit import Actor
from credit import learning, scoring, services
from credit.models import (
    REGULATOR_KINDS,
    CreditEvent,
    CreditEventKind,
    CreditProfile,
    CreditScore,
    CreditVolume,
    ScoreTrigger,
)
from credit.tests.helpers import ListParties, learn, publish, score, status_changed
from single_window.models import Enterprise
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db

K = CreditEventKind
CST = ZoneInfo("Asia/Shanghai")
BASE = scoring.BASE_SCORE


def kinds_of(enterprise: Enterprise) -> list[str]:
    return list(CreditEvent.objects.filter(enterprise=enterprise).order_by("id").values_list("kind", flat=True))


def test_a_customs_rejection_costs_the_seller_and_its_agent_once_each(list_parties: ListParties) -> None:
    agent_copy, seller_copy = sorted(
        status_changed(list_parties, 81, "declared", "rejected"), key=lambda e: e.enterprise_id != list_parties.agent.pk
    )

    learn()
    learn()  # nothing new: nothing counted twice

    for party, copy in ((list_parties.ebc, seller_copy), (list_parties.agent, agent_copy)):
        event = CreditEvent.objects.get(enterprise=party)
        assert (event.kind, event.weight, event.source) == (K.CUSTOMS_REJECTION, -15, "event")
        assert (event.source_reference, event.source_event_id) == (f"event:{copy.pk}", copy.pk)
        assert event.occurred_at == copy.created_at
        assert event.details == {
            "event_type": "inventory.status_changed",
            "inventory_id": 81,
            "cop_no": "COP00000081",
            "from_status": "declared",
            "to_status": "rejected",
        }
        assert score(party) == BASE - 15
        history = CreditScore.objects.get(enterprise=party)
        assert (history.trigger, history.credit_event_id, history.score) == (ScoreTrigger.EVENT, event.pk, 785)
        assert history.explanation["contributions"] == [
            {"kind": "customs_rejection", "count": 1, "contribution": -15.0}
        ]
    # The platform was told nothing here and answers for nothing.
    assert kinds_of(list_parties.ebp) == []


@pytest.mark.parametrize(
    ("from_status", "to_status", "kind"),
    [
        ("declared", "rejected", K.CUSTOMS_REJECTION),
        ("accepted", "rejected", K.CUSTOMS_REJECTION),
        ("inspection", "rejected", K.INSPECTION_FINDING),
        ("accepted", "detained", K.DETENTION),
        ("manual_review", "detained", K.DETENTION),
        ("inspection", "detained", K.INSPECTION_FINDING),
        ("inspection", "returned", K.INSPECTION_FINDING),
        ("detained", "returned", K.CUSTOMS_REJECTION),
        ("risk_review", "risk_rejected", K.RISK_BLOCK),
    ],
)
def test_each_bad_outcome_of_a_list_costs_its_kinds_weight(
    list_parties: ListParties, from_status: str, to_status: str, kind: str
) -> None:
    status_changed(list_parties, 81, from_status, to_status)

    learn()

    assert kinds_of(list_parties.ebc) == kinds_of(list_parties.agent) == [kind]
    assert score(list_parties.ebc) == score(list_parties.agent) == BASE + scoring.RULES[kind].weight


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [("", "pending_documents"), ("matched", "declared"), ("declared", "accepted"), ("accepted", "inspection")],
)
def test_the_ordinary_steps_of_a_list_teach_nothing(
    list_parties: ListParties, from_status: str, to_status: str
) -> None:
    """An inspection itself is random selection; only what it finds counts."""
    status_changed(list_parties, 81, from_status, to_status)

    # Passed over without being handed to the handler: they can teach nothing.
    assert learn() == 0

    assert CreditEvent.objects.count() == 0
    assert not CreditProfile.objects.filter(enterprise__in=[list_parties.ebc, list_parties.agent]).exists()


def test_each_rejection_of_a_list_counts(list_parties: ListParties) -> None:
    status_changed(list_parties, 81, "declared", "rejected")
    status_changed(list_parties, 81, "declared", "rejected")  # changed, declared again, rejected again

    learn()

    assert kinds_of(list_parties.ebc) == [K.CUSTOMS_REJECTION, K.CUSTOMS_REJECTION]
    assert score(list_parties.ebc) == BASE - 30


def test_a_list_that_fails_matching_counts_once_however_often_it_fails(list_parties: ListParties) -> None:
    failed: dict[str, Any] = {"passed": False, "failed_rules": ["order_amounts"]}
    publish(list_parties, learning.MATCHING_RESULT, 81, **failed)
    publish(list_parties, learning.MATCHING_RESULT, 81, **failed)
    publish(list_parties, learning.MATCHING_RESULT, 81, passed=True, failed_rules=[])
    publish(list_parties, learning.MATCHING_RESULT, 82, **failed)

    learn()

    events = CreditEvent.objects.filter(enterprise=list_parties.ebc).order_by("id")
    assert [(e.kind, e.source_reference) for e in events] == [
        (K.MATCHING_FAILURE, "inventory:81"),
        (K.MATCHING_FAILURE, "inventory:82"),
    ]
    assert "failed_rules" not in events[0].details  # no rule or evidence kept
    assert score(list_parties.agent) == BASE - 10


def test_a_risk_block_counts_once_per_list_version(list_parties: ListParties) -> None:
    publish(list_parties, learning.RISK_BLOCKED, 81, version=1, reasons=["watch_list"])
    publish(list_parties, learning.RISK_BLOCKED, 81, version=1, reasons=["watch_list"])
    publish(list_parties, learning.RISK_BLOCKED, 81, version=2, reasons=["watch_list"])

    learn()

    assert list(
        CreditEvent.objects.filter(enterprise=list_parties.ebc).order_by("id").values_list("kind", "source_reference")
    ) == [(K.RISK_BLOCK, "inventory:81/v1"), (K.RISK_BLOCK, "inventory:81/v2")]
    assert score(list_parties.ebc) == BASE - 60


def test_a_copy_told_to_a_party_that_does_not_answer_for_the_list_counts_for_nobody(
    list_parties: ListParties,
) -> None:
    status_changed(list_parties, 81, "declared", "rejected")
    publish(
        list_parties, learning.STATUS_CHANGED, 81, to=[list_parties.ebp], from_status="declared", to_status="rejected"
    )
    stranger = EnterpriseFactory.create()
    publish(list_parties, learning.STATUS_CHANGED, 82, to=[stranger], from_status="declared", to_status="rejected")

    learn()

    assert kinds_of(list_parties.ebp) == kinds_of(stranger) == []
    assert CreditEvent.objects.count() == 2


def test_an_enterprise_declaring_for_itself_counts_its_one_copy_once(list_parties: ListParties) -> None:
    self_declaring = ListParties(ebc=list_parties.ebc, agent=list_parties.ebc, ebp=list_parties.ebp)

    status_changed(self_declaring, 81, "declared", "rejected")
    learn()

    assert kinds_of(list_parties.ebc) == [K.CUSTOMS_REJECTION]


def test_the_same_event_learned_twice_is_counted_once(list_parties: ListParties) -> None:
    (copy, _other) = status_changed(list_parties, 81, "declared", "rejected")
    learn()

    learning.credit_learn(copy)  # handed again (a cursor moved back by hand)

    assert CreditEvent.objects.filter(enterprise=copy.enterprise).count() == 1
    assert score(copy.enterprise) == BASE - 15


@pytest.mark.parametrize("kind", [k for k in CreditEventKind if k not in REGULATOR_KINDS])
def test_every_learned_kind_moves_the_score_by_its_weight(list_parties: ListParties, kind: str) -> None:
    """Late and lost parcels included: logistics will report them the same way."""
    services.credit_event_learn(
        enterprise=list_parties.ebc,
        kind=kind,
        occurred_at=datetime.datetime.now(tz=CST),
        source_reference="event:1",
        source_event_id=1,
        subject="waybill:1",
        details={},
    )

    assert score(list_parties.ebc) == BASE + scoring.RULES[kind].weight


@pytest.mark.parametrize("kind", REGULATOR_KINDS)
def test_every_kind_a_regulator_records_moves_the_score_by_its_weight(list_parties: ListParties, kind: str) -> None:
    services.credit_event_record(
        enterprise=list_parties.ebc,
        kind=kind,
        occurred_at=datetime.datetime.now(tz=CST),
        reference="HZ-2026-001",
        actor=Actor.system("tests"),
    )

    assert score(list_parties.ebc) == BASE + scoring.RULES[kind].weight


# --- Returns -----------------------------------------------------------------------------------------


def test_returns_above_the_tolerated_rate_lower_the_score(list_parties: ListParties) -> None:
    for n in range(40):
        status_changed(list_parties, n, "accepted", "released")
    learn()
    assert not CreditProfile.objects.filter(enterprise=list_parties.ebc).exists()  # a release moves nothing yet

    for n in range(4):
        status_changed(list_parties, n, "released", "returned")
    learn()

    # 4 returns of 40 releases: 10%, 5 points above the tolerated 5%, 10 points each.
    counts = CreditVolume.objects.get(enterprise=list_parties.ebc)
    assert (counts.released, counts.returned) == (40, 4)
    assert score(list_parties.ebc) == BASE - 50
    returns = CreditProfile.objects.get(enterprise=list_parties.ebc).explanation["contributions"]
    assert returns == [{"kind": "returns_rate", "count": 4, "contribution": -50.0, "rate": 0.1}]
    assert CreditEvent.objects.count() == 0


def test_a_release_or_return_counted_is_not_counted_again(list_parties: ListParties) -> None:
    (copy, _other) = status_changed(list_parties, 1, "accepted", "released")
    learn()

    learning.credit_learn(copy)

    assert CreditVolume.objects.get(enterprise=copy.enterprise).released == 1


# --- Time --------------------------------------------------------------------------------------------


def test_the_score_recovers_as_events_age_at_the_nightly_recomputation(list_parties: ListParties) -> None:
    start = datetime.datetime(2026, 1, 10, 10, 0, tzinfo=CST)
    with time_machine.travel(start, tick=False):
        status_changed(list_parties, 81, "accepted", "detained")
        learn()
    assert score(list_parties.ebc) == 760

    half_life = start + datetime.timedelta(days=scoring.HALF_LIFE_DAYS)
    with time_machine.travel(half_life.replace(hour=1, minute=30), tick=False):
        assert services.credit_profiles_recompute_due(limit=100) >= 2
        assert services.credit_profiles_recompute_due(limit=100) == 0  # done for the day

    assert score(list_parties.ebc) == 780
    with time_machine.travel(start + datetime.timedelta(days=2 * scoring.HALF_LIFE_DAYS, hours=16), tick=False):
        services.credit_profiles_recompute_due(limit=100)
    assert score(list_parties.ebc) == 790
    history = list(
        CreditScore.objects.filter(enterprise=list_parties.ebc).order_by("computed_at").values_list("score", "trigger")
    )
    assert history == [(760, ScoreTrigger.EVENT), (780, ScoreTrigger.NIGHTLY), (790, ScoreTrigger.NIGHTLY)]


def test_a_nightly_recomputation_that_moves_nothing_leaves_no_history(list_parties: ListParties) -> None:
    start = datetime.datetime(2026, 1, 10, 10, 0, tzinfo=CST)
    with time_machine.travel(start, tick=False):
        services.credit_score_recompute(enterprise_id=list_parties.ebc.pk, trigger=ScoreTrigger.MANUAL)
    with time_machine.travel(start + datetime.timedelta(days=1), tick=False):
        services.credit_profiles_recompute_due(limit=100)

    profile = CreditProfile.objects.get(enterprise=list_parties.ebc)
    assert profile.computed_at == start + datetime.timedelta(days=1)
    assert CreditScore.objects.filter(enterprise=list_parties.ebc).count() == 1


def test_the_nightly_run_gives_every_active_enterprise_a_profile(list_parties: ListParties) -> None:
    pending = EnterpriseFactory.create(status="pending")

    services.credit_profiles_recompute_due(limit=100)

    assert CreditProfile.objects.filter(enterprise=list_parties.ebp, score=BASE, grade="A").exists()
    assert not CreditProfile.objects.filter(enterprise=pending).exists()
