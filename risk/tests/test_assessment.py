"""Risk's answer in the declare step: outcomes combined, recorded once per list version, and
followed through consume, release and review; rules versioned and audited."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.audit import Actor
from core.models import AuditEntry
from risk import rules, services
from risk.models import (
    Assessment,
    ListObservation,
    PriceObservation,
    RiskHit,
    RiskRule,
    RiskRuleVersion,
    WatchListEntry,
)
from risk.participant import RiskParticipant
from risk.tests.conftest import EBC, item, make_facts
from single_window.declare import Review, Verdict

pytestmark = pytest.mark.django_db

Only = Callable[..., RiskRule]
ACTOR = Actor(label="admin:officer", user_id=None)


def test_flags_only_pass_with_the_flags_kept(only: Only) -> None:
    only("weight")
    facts = make_facts(items=(item(qty1="1"),), gross="9")

    decision = RiskParticipant().reserve(facts)

    assert decision.verdict is Verdict.PASS
    assert [r.code for r in decision.reasons] == ["weight"]
    assert list(RiskHit.objects.values_list("rule_code", "outcome")) == [("weight", "flag")]


def test_a_block_outweighs_a_review_and_a_review_a_flag(default_rules: None) -> None:
    RiskRule.objects.exclude(code__in=["weight", "credit_class", "watch_list"]).update(enabled=False)
    # A second watch-list rule, by phone and for review; the blocking one reads enterprises only.
    RiskRule.objects.filter(code="credit_class").update(kind="watch_list", parameters={"kinds": ["phone"]})
    RiskRule.objects.filter(code="watch_list").update(parameters={"kinds": ["enterprise"]})
    WatchListEntry.objects.create(kind="phone", value=make_facts().consignee_phone_hash, label="138****8000")
    facts = make_facts(items=(item(qty1="1"),), gross="9")

    assert RiskParticipant().reserve(facts).verdict is Verdict.REVIEW  # credit_class (a review) and weight
    WatchListEntry.objects.create(kind="enterprise", value=EBC, label=EBC)
    decision = RiskParticipant().reserve(make_facts(items=(item(qty1="1"),), gross="9"))
    assert decision.verdict is Verdict.BLOCK
    assert [r.code for r in decision.reasons] == ["watch_list"]  # what decided it; the others are hits
    assert RiskHit.objects.filter(rule_code="weight").count() == 2


def test_asked_twice_about_one_version_risk_answers_the_same_and_records_once(only: Only) -> None:
    only("watch_list")
    WatchListEntry.objects.create(kind="enterprise", value=EBC, label=EBC)
    facts = make_facts(items=(item(), item("3304990099")))

    first = RiskParticipant().reserve(facts)
    WatchListEntry.objects.all().delete()
    second = RiskParticipant().reserve(facts)

    assert first == second
    assert first.verdict is Verdict.BLOCK
    assert Assessment.objects.count() == 1
    assert RiskHit.objects.count() == 1
    assert ListObservation.objects.count() == 1
    assert PriceObservation.objects.count() == 2


def test_release_forgets_the_lists_prices_and_split_value_and_consume_keeps_them(only: Only) -> None:
    only("buyer_velocity")
    kept, dropped = make_facts(), make_facts()
    participant = RiskParticipant()
    participant.reserve(kept)
    participant.reserve(dropped)

    participant.consume(kept.ref)
    participant.release(dropped.ref, outcome="risk_rejected")

    states = dict(Assessment.objects.values_list("inventory_id", "state"))
    assert states == {kept.ref.inventory_id: "consumed", dropped.ref.inventory_id: "released"}
    assert PriceObservation.objects.filter(inventory_id=dropped.ref.inventory_id).count() == 0
    assert ListObservation.objects.get(inventory_id=dropped.ref.inventory_id).released_at is not None
    assert ListObservation.objects.get(inventory_id=kept.ref.inventory_id).released_at is None


def test_an_approved_review_lets_the_version_pass_when_asked_again(only: Only) -> None:
    only("watch_list", outcome="review")
    WatchListEntry.objects.create(kind="enterprise", value=EBC, label=EBC)
    facts = make_facts()
    participant = RiskParticipant()
    assert participant.reserve(facts).verdict is Verdict.REVIEW

    participant.reviewed(Review(ref=facts.ref, approved=True, reason="documents checked", reviewer="admin:officer"))

    assert participant.reserve(facts).verdict is Verdict.PASS
    assessment = Assessment.objects.get()
    assert (assessment.review, assessment.review_reason) == ("approved", "documents checked")


# --- Rules as data ------------------------------------------------------------------------------


def test_every_change_of_a_rule_is_a_new_version_snapshotted_and_audited(default_rules: None) -> None:
    rule = RiskRule.objects.get(code="buyer_velocity")
    rule.parameters = {"max_lists": 20}

    services.rule_save(rule=rule, actor=ACTOR)

    rule.refresh_from_db()
    assert rule.version == 2
    assert rule.parameters["max_lists"] == 20
    snapshot = RiskRuleVersion.objects.get(rule=rule, version=2).snapshot
    assert snapshot["parameters"]["max_lists"] == 20
    entry = AuditEntry.objects.get(object_type="risk.riskrule", object_id=str(rule.pk))
    assert entry.action == "update"
    assert entry.actor == "admin:officer"


@pytest.mark.parametrize(
    ("kind", "parameters"),
    [
        ("buyer_velocity", {"max_lists": 0}),
        ("buyer_velocity", {"max_list": 10}),
        ("identity_farming", {"by": "email"}),
        ("random_selection", {"fallback_rate": 1.5}),
        ("watch_list", {"kinds": ["car"]}),
    ],
)
def test_parameters_are_checked_against_the_rules_kind(kind: str, parameters: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        rules.clean_parameters(kind, parameters)


def test_parameters_not_given_take_the_kinds_defaults() -> None:
    assert rules.clean_parameters("order_splitting", {"limit": 4000}) == {
        "window_hours": 24,
        "limit": 4000.0,
        "min_lists": 2,
    }
    assert Decimal(str(rules.DEFAULTS["random_selection"]["fallback_rate"])) == Decimal("0.0244")
