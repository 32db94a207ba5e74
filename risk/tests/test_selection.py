"""Random selection: reproducible by a keyed hash of the list version, at the seller's class rate."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

import pytest

from risk import selection, services
from risk.models import RiskHit, RiskRule
from risk.tests.conftest import EBC, make_facts
from single_window.declare import ListRef, Verdict

KEY = b"test-selection-key"
RATES = {
    "advanced_certified": Decimal("0.0057"),
    "certified": Decimal("0.0169"),
    "regular": Decimal("0.0244"),
    "dishonest": Decimal("0.8476"),
    "seriously_dishonest": Decimal(1),
}
TRIALS = 100_000


@pytest.mark.parametrize(("customs_class", "rate"), RATES.items())
def test_each_class_is_selected_at_its_rate_within_statistical_bounds(customs_class: str, rate: Decimal) -> None:
    p = float(rate)
    selected = sum(selection.is_selected(ListRef(n, 1 + n % 3), rate=rate, key=KEY) for n in range(TRIALS))

    # Five standard deviations of the binomial: a false alarm once in about 3.5 million runs.
    spread = 5 * math.sqrt(TRIALS * p * (1 - p))
    assert abs(selected - TRIALS * p) <= spread, (customs_class, selected)


def test_the_selection_is_reproducible_and_depends_on_the_key() -> None:
    refs = [ListRef(n, 1) for n in range(2_000)]
    once = [selection.selection_point(ref, key=KEY) for ref in refs]

    assert once == [selection.selection_point(ref, key=KEY) for ref in refs]
    assert once != [selection.selection_point(ref, key=b"another key") for ref in refs]
    assert all(0 <= point < 1 for point in once)


@pytest.mark.django_db
def test_a_selected_list_goes_to_review_as_a_hit_of_random_selection(
    only: Callable[..., RiskRule], credit: dict[str, tuple[str, Decimal]]
) -> None:
    only("random_selection")
    credit[EBC] = ("seriously_dishonest", Decimal(1))
    decision = services.list_assess(facts=make_facts())
    assert decision.verdict is Verdict.REVIEW
    assert RiskHit.objects.get().evidence["class"] == "seriously_dishonest"

    credit[EBC] = ("advanced_certified", Decimal(0))
    assert services.list_assess(facts=make_facts()).verdict is Verdict.PASS


@pytest.mark.django_db
def test_without_a_credit_class_the_regular_rate_applies(
    only: Callable[..., RiskRule], credit: dict[str, tuple[str, Decimal]]
) -> None:
    only("random_selection")  # credit classes no enterprise here
    key = selection.selection_key()
    facts = [make_facts() for _ in range(400)]
    expected = [f for f in facts if selection.selection_point(f.ref, key=key) < 0.0244]

    selected = [f for f in facts if services.list_assess(facts=f).verdict is Verdict.REVIEW]

    assert selected == expected
