"""What risk and finance read from credit: an enterprise's customs class with its inspection
rate, and its score and grade; each in one query."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from core.audit import Actor
from credit import selectors, services
from credit.models import ClassDecisionSource, CustomsClass, CustomsClassDecision, ScoreTrigger
from credit.tests.helpers import ListParties
from single_window.models import Enterprise
from single_window.selectors import today

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")


def decide(enterprise: Enterprise, code: str, reference: str, *, effective_in_days: int = 0) -> CustomsClassDecision:
    effective = today() + datetime.timedelta(days=effective_in_days)
    return CustomsClassDecision.objects.create(
        enterprise=enterprise,
        customs_class=CustomsClass.objects.get(code=code),
        source=ClassDecisionSource.CUSTOMS_DECISION,
        decision_reference=reference,
        decided_on=min(effective, today()),
        effective_from=effective,
    )


def test_the_classes_are_seeded_with_their_inspection_rates() -> None:
    assert list(CustomsClass.objects.values_list("code", "inspection_rate", "is_default")) == [
        ("advanced_certified", Decimal("0.0057"), False),
        ("certified", Decimal("0.0169"), False),
        ("regular", Decimal("0.0244"), True),
        ("dishonest", Decimal("0.8476"), False),
        ("seriously_dishonest", Decimal("1.0000"), False),
    ]


def test_an_enterprise_with_no_decision_is_regular(list_parties: ListParties, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        facts = selectors.customs_class_of(list_parties.ebc.code)

    assert facts == selectors.ClassFacts(code="regular", inspection_rate=Decimal("0.0244"))
    assert selectors.customs_class_of("3399999999").code == "regular"  # nobody registered it


def test_the_latest_decision_in_force_applies(list_parties: ListParties, django_assert_num_queries: Any) -> None:
    decide(list_parties.ebc, "certified", "HZ-2025-01", effective_in_days=-200)
    decide(list_parties.ebc, "advanced_certified", "HZ-2026-07", effective_in_days=-10)
    decide(list_parties.ebc, "dishonest", "HZ-2026-30", effective_in_days=5)  # not yet in force

    with django_assert_num_queries(1):
        facts = selectors.customs_class_of(list_parties.ebc.code)

    assert facts == selectors.ClassFacts(code="advanced_certified", inspection_rate=Decimal("0.0057"))
    # By either of its codes.
    assert selectors.customs_class_of(list_parties.ebc.uscc or "").code == "advanced_certified"


def test_the_score_is_unknown_until_first_computed_then_read_in_one_query(
    list_parties: ListParties, django_assert_num_queries: Any
) -> None:
    assert selectors.score_of(list_parties.ebc.code) is None

    services.credit_score_recompute(enterprise_id=list_parties.ebc.pk, trigger=ScoreTrigger.MANUAL)

    with django_assert_num_queries(1):
        facts = selectors.score_of(list_parties.ebc.code)
    assert facts == selectors.ScoreFacts(score=800, grade="A", computed_grade="A", overridden=False)


def test_a_regulators_override_is_the_grade_read(list_parties: ListParties) -> None:
    services.credit_score_recompute(enterprise_id=list_parties.ebc.pk, trigger=ScoreTrigger.MANUAL)
    services.credit_grade_override_set(
        enterprise=list_parties.ebc, grade="BB", reason="smuggling case under investigation", actor=ACTOR
    )

    assert selectors.score_of(list_parties.ebc.code) == selectors.ScoreFacts(
        score=800, grade="BB", computed_grade="A", overridden=True
    )
