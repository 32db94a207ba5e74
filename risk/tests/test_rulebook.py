"""Risk judges by a rulebook each process keeps (``risk.rulebook``): read once, not per list, and
a change is seen at once when saved, within the bound when made without the ORM."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from risk import rulebook, services
from risk.models import GoodsRestriction, RiskHit, RiskRule
from risk.tests.conftest import item, make_facts
from single_window.declare import ListFacts

pytestmark = pytest.mark.django_db

RULEBOOK_TABLES = ('"risk_riskrule"', '"risk_goodsrestriction"', '"risk_weightnorm"')
MEDICINE = (item("3004909099"),)


def fired(facts: ListFacts) -> set[str]:
    """The rules that fire on ``facts`` (what the judging records is rolled back)."""
    with transaction.atomic():
        services.list_assess(facts=facts)
        hits = set(RiskHit.objects.filter(inventory_id=facts.ref.inventory_id).values_list("rule_code", flat=True))
        transaction.set_rollback(True)
    return hits


def rulebook_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in RULEBOOK_TABLES)]


@pytest.fixture
def committed_restriction(default_rules: None) -> Iterator[None]:
    """A bonded-only restriction on medicines, known to the rulebook as a committed row is: the
    test's own transaction has not changed the rulebook's tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO risk_goodsrestriction (gcode_prefix, restriction, max_qty, note)"
            " VALUES ('3004', 'bonded_only', NULL, '')"
        )
    rulebook.CACHE.reset()
    yield
    rulebook.CACHE.reset()


def test_lists_are_judged_without_reading_the_rules_again(committed_restriction: None) -> None:
    assert "restricted_goods" in fired(make_facts(items=MEDICINE))

    with CaptureQueriesContext(connection) as queries:
        assert "restricted_goods" in fired(make_facts(items=MEDICINE))

    assert rulebook_reads(queries) == []


def test_a_rule_switched_off_through_the_orm_is_not_applied_to_the_next_list(committed_restriction: None) -> None:
    assert "restricted_goods" in fired(make_facts(items=MEDICINE))

    rule = RiskRule.objects.get(code="restricted_goods")
    rule.enabled = False
    rule.save()

    assert "restricted_goods" not in fired(make_facts(items=MEDICINE))


def test_a_restriction_lifted_without_the_orm_is_seen_within_the_bound(
    committed_restriction: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(rulebook.CACHE, "clock", lambda: now[0])
    rulebook.CACHE.reset()
    assert "restricted_goods" in fired(make_facts(items=MEDICINE))
    GoodsRestriction.objects.filter(gcode_prefix="3004").update(restriction="max_qty", max_qty=100)

    now[0] += settings.REFERENCE_CACHE_SECONDS - 1
    assert "restricted_goods" in fired(make_facts(items=MEDICINE))
    now[0] += 1
    assert "restricted_goods" not in fired(make_facts(items=MEDICINE))
