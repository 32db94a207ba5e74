"""The rollups follow the lists: after any sequence of moves driven through the declarations'
services and events, they equal a recomputation from the source tables; a corrupted rollup is
caught by the reconciliation and corrected."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from declarations.models import Inventory, InventoryStatus
from declarations.tests.helpers import Send
from declarations.tests.parcels import buyer_id, formula, list_of, parcel, receipt, submit
from monitoring import reconcile, selectors
from monitoring.models import (
    DailyGoodsFigures,
    DailyListFigures,
    DailyRuleFailures,
    DriftReport,
    EventWatermark,
    MonthlyGoodsFigures,
    RuleKind,
)
from monitoring.rollups import SUBSCRIBER, china_day
from single_window.models import SubscriptionCursor
from single_window.subscriptions import subscriptions_run

pytestmark = pytest.mark.django_db

# Customs' receipts a declared list may get, in an order the lifecycle accepts.
PATHS = {
    "released": ("120", "800"),
    "rejected": ("100",),
    "inspected_then_released": ("120", "500", "800"),
    "reviewed_then_rejected": ("120", "300", "100"),
    "released_then_closed": ("120", "800", "899"),
    "not_answered": (),
}
NUMBERS = itertools.count(1)


def learn() -> None:
    subscriptions_run(names=[SUBSCRIBER], budget_seconds=30)


def fresh_parcel(**changes: Any) -> dict[str, dict[str, Any]]:
    """A parcel with keys and a buyer of its own (each buyer far from the yearly limit)."""
    n = next(NUMBERS)
    return parcel(n, buyer=buyer_id(n), **changes)


def declare_and_answer(send: Send, path: tuple[str, ...]) -> Inventory:
    docs = fresh_parcel()
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == InventoryStatus.DECLARED
    at = timezone.now()
    for step, code in enumerate(path):
        receipt(inventory, code, at + datetime.timedelta(seconds=step + 1))
    return inventory


def today() -> datetime.date:
    return china_day(timezone.now())


def check(correct: bool = False) -> DriftReport:
    return reconcile.figures_reconcile(day_from=today(), day_to=today(), correct=correct)


# Lists that never reach customs: a document that does not match, a buyer over the limit.
REFUSED = ("mismatched", "over_the_limit")


def refuse(send: Send, how: str) -> None:
    if how == "mismatched":
        docs = fresh_parcel()
        docs["waybill"]["consignee"] = "王五"
    else:
        docs = fresh_parcel(goods=[formula("2500.00", qty="2")])
    submit(send, docs)
    assert list_of(docs).status == InventoryStatus.MATCH_FAILED


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(st.sampled_from([*sorted(PATHS), *REFUSED]), min_size=1, max_size=4),
    learn_between=st.booleans(),
)
def test_rollups_equal_a_recomputation_after_any_sequence_of_moves(
    send: Send, parties: object, steps: list[str], learn_between: bool
) -> None:
    for step in steps:
        if step in REFUSED:
            refuse(send, step)
        else:
            declare_and_answer(send, PATHS[step])
        if learn_between:
            learn()
    learn()
    learn()  # nothing new: nothing counted twice

    report = check()

    assert (report.rows_differing, report.differences) == (0, [])
    assert report.rows_checked > 0
    # Every list that matched was declared once; the refused ones never.
    declared = Inventory.objects.exclude(status=InventoryStatus.MATCH_FAILED).count()
    assert sum(DailyListFigures.objects.values_list("declared", flat=True)) == declared


def test_a_release_counts_value_taxes_and_clearance_time(send: Send, parties: object) -> None:
    inventory = declare_and_answer(send, PATHS["released"])
    learn()

    row = DailyListFigures.objects.get()
    estimate = inventory.tax_estimate
    assert (row.declared, row.released, row.rejected) == (1, 1, 0)
    assert (row.value_cny, row.vat, row.consumption_tax) == (
        estimate.dutiable_total,
        estimate.value_added_tax,
        estimate.consumption_tax,
    )
    assert (row.ebc, row.agent, row.district) == (inventory.ebc_code, inventory.agent_code, inventory.customs_code)
    assert row.clearance_count == 1
    assert sum(row.histogram()) == 1
    # Each item group of the list has its row in the goods rollup, with the items' value.
    goods = list(DailyGoodsFigures.objects.all())
    assert sum(g.value_cny for g in goods) == estimate.dutiable_total
    assert {g.released for g in goods} == {1}


def test_the_same_event_twice_counts_once(send: Send, parties: object) -> None:
    declare_and_answer(send, PATHS["released"])
    learn()
    mark = EventWatermark.objects.get()
    before = DailyListFigures.objects.get().released

    # A run replaying the events already taken (the cursor put back) changes nothing.
    SubscriptionCursor.objects.filter(name=SUBSCRIBER).update(last_event_id=0)
    learn()

    assert DailyListFigures.objects.get().released == before == 1
    assert EventWatermark.objects.get().last_event_id == mark.last_event_id


def test_the_drift_check_catches_a_corrupted_rollup_and_corrects_it(
    send: Send, parties: object, caplog: pytest.LogCaptureFixture
) -> None:
    declare_and_answer(send, PATHS["released"])
    declare_and_answer(send, PATHS["rejected"])
    learn()
    row = DailyListFigures.objects.get()
    DailyListFigures.objects.filter(pk=row.pk).update(released=7, rejected=0)

    found = check(correct=False)

    assert found.rows_differing == 1
    assert not found.corrected
    [difference] = found.differences
    assert difference["table"] == "list"
    assert difference["figures"] == {
        "released": {"stored": 7, "recomputed": 1},
        "rejected": {"stored": 0, "recomputed": 1},
    }
    assert DailyListFigures.objects.get().released == 7  # only reported

    fixed = check(correct=True)

    assert (fixed.rows_differing, fixed.corrected) == (1, True)
    assert (DailyListFigures.objects.get().released, DailyListFigures.objects.get().rejected) == (1, 1)
    assert check().rows_differing == 0
    assert "monitoring rollups drifted" in caplog.text


def test_a_rebuild_fills_empty_rollups_from_the_source(send: Send, parties: object) -> None:
    declare_and_answer(send, PATHS["inspected_then_released"])
    learn()
    live = list(DailyListFigures.objects.values())
    DailyListFigures.objects.all().delete()
    DailyGoodsFigures.objects.all().delete()

    report = check(correct=True)

    assert report.rows_differing >= 2
    rebuilt = list(DailyListFigures.objects.values())
    assert [dict(r, id=None) for r in rebuilt] == [dict(r, id=None) for r in live]
    assert rebuilt[0]["inspections"] == 1


def test_figures_by_goods_read_whole_months_from_the_monthly_rollup(send: Send, parties: object) -> None:
    declare_and_answer(send, PATHS["released"])
    learn()
    group = DailyGoodsFigures.objects.order_by("hs_chapter", "country").first()
    assert group is not None
    month = MonthlyGoodsFigures.objects.get(country=group.country, hs_chapter=group.hs_chapter)
    assert (month.day, month.released, month.value_cny) == (group.day.replace(day=1), 1, group.value_cny)
    day = group.day
    month_end = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    before = day.replace(day=1) - datetime.timedelta(days=3)
    chapter = {"hs_chapter": group.hs_chapter}
    everything = selectors.FigureScope.everything()

    by_day = selectors.summary(everything, day, day, filters=chapter)
    by_month = selectors.summary(everything, day.replace(day=1), month_end, filters=chapter)
    over_months = selectors.summary(everything, before, month_end, filters=chapter)

    assert by_day == dataclasses.replace(by_month, date_from=day, date_to=day)
    assert over_months.released == by_month.released == 1
    assert over_months.value_cny == by_day.value_cny == group.value_cny
    points = selectors.series(everything, day.replace(day=1), month_end, "month", "hs_chapter")
    assert {(p.period, p.key, p.released) for p in points} == {
        (day.replace(day=1), row.hs_chapter, 1) for row in DailyGoodsFigures.objects.all()
    }


def test_a_corrupted_monthly_row_is_summed_again_from_its_days(send: Send, parties: object) -> None:
    declare_and_answer(send, PATHS["released"])
    learn()
    corrupted = MonthlyGoodsFigures.objects.order_by("id").first()
    assert corrupted is not None
    MonthlyGoodsFigures.objects.filter(pk=corrupted.pk).update(released=5)

    report = check(correct=True)

    assert report.rows_differing == 1
    assert report.differences[0]["table"] == "goods_month"
    assert set(MonthlyGoodsFigures.objects.values_list("released", flat=True)) == {1}


def test_matching_failures_are_counted_by_rule_as_the_recomputation_counts_them(send: Send, parties: object) -> None:
    docs = fresh_parcel()
    docs["waybill"]["consignee"] = "王五"
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == InventoryStatus.MATCH_FAILED
    learn()

    failures = list(DailyRuleFailures.objects.values_list("kind", "rule", "failures", "ebc", "agent"))
    assert failures
    assert {(kind, count) for kind, _rule, count, _ebc, _agent in failures} == {(RuleKind.MATCHING, 1)}
    assert {(ebc, agent) for *_rest, ebc, agent in failures} == {(inventory.ebc_code, inventory.agent_code)}
    [top, *_others] = selectors.top_failing_rules(selectors.FigureScope.everything(), today(), today())
    assert (top.kind, top.failures) == (RuleKind.MATCHING, 1)
    assert top.label != ""
    assert check().rows_differing == 0


def test_a_list_over_the_single_transaction_limit_counts_as_refused_by_quota(send: Send, parties: object) -> None:
    docs = fresh_parcel(goods=[formula("2500.00", qty="2")])
    submit(send, docs)
    assert list_of(docs).status == InventoryStatus.MATCH_FAILED
    learn()

    row = DailyListFigures.objects.get()
    assert (row.quota_refused, row.declared) == (1, 0)
    assert DailyRuleFailures.objects.get().rule == "quota_single_transaction"
    assert selectors.summary(selectors.FigureScope.everything(), today(), today()).quota_refused == 1
    assert check().rows_differing == 0
