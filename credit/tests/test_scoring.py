"""The score's arithmetic, as docs/credit.md states it: decay by half-life, caps per kind, the
returns rate, the grade bands."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from credit import scoring
from credit.models import CreditEventKind

K = CreditEventKind
NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def at(days_ago: float, kind: str = K.CUSTOMS_REJECTION, weight: int | None = None) -> scoring.Recorded:
    chosen = scoring.RULES[kind].weight if weight is None else weight
    return scoring.Recorded(kind=kind, weight=chosen, occurred_at=NOW - datetime.timedelta(days=days_ago))


def test_a_weight_halves_every_half_life() -> None:
    half_life = datetime.timedelta(days=scoring.HALF_LIFE_DAYS)

    assert scoring.decay(datetime.timedelta(0)) == 1
    assert scoring.decay(half_life) == pytest.approx(0.5)
    assert scoring.decay(2 * half_life) == pytest.approx(0.25)
    assert scoring.decay(-half_life) == 1  # a date ahead of now counts as now


def test_no_record_is_the_base_score_and_its_grade() -> None:
    result = scoring.compute(events=[], counts=[], now=NOW)

    assert (result.score, result.grade) == (800, "A")
    assert result.explanation() == {"base": 800, "half_life_days": 180, "contributions": []}


def test_a_kind_moves_the_score_at_most_by_its_cap() -> None:
    result = scoring.compute(events=[at(0) for _ in range(50)], counts=[], now=NOW)

    assert result.score == 800 - scoring.RULES[K.CUSTOMS_REJECTION].cap
    assert result.explanation()["contributions"] == [
        {"kind": "customs_rejection", "count": 50, "contribution": -200.0, "capped": True}
    ]


def test_contributions_are_listed_largest_first_and_summed_with_decay() -> None:
    events = [at(0, K.DETENTION), at(scoring.HALF_LIFE_DAYS, K.DETENTION), at(0, K.COMMENDATION)]

    result = scoring.compute(events=events, counts=[], now=NOW)

    assert [(c.kind, c.count) for c in result.contributions] == [("detention", 2), ("commendation", 1)]
    assert [c.points for c in result.contributions] == pytest.approx([-60.0, 50.0])
    assert result.score == 790


def test_the_score_stays_between_0_and_1000() -> None:
    worst = [at(0, kind) for kind in K if kind not in (K.COMMENDATION, K.CERTIFICATION) for _ in range(100)]
    best = [at(0, K.COMMENDATION), at(0, K.CERTIFICATION)] * 10

    assert scoring.compute(events=worst, counts=[], now=NOW).score == 0
    assert scoring.compute(events=best, counts=[], now=NOW).score == 1000


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (1000, "AAA"),
        (900, "AAA"),
        (899, "AA"),
        (850, "AA"),
        (849, "A"),
        (750, "A"),
        (749, "BBB"),
        (600, "BBB"),
        (599, "BB"),
        (0, "BB"),
    ],
)
def test_grade_bands(score: int, grade: str) -> None:
    assert scoring.grade_of(score) == grade


def test_a_handful_of_lists_cannot_make_a_returns_rate() -> None:
    counts = [scoring.DayCount(day=NOW.date(), released=2, returned=1)]

    result = scoring.compute(events=[], counts=counts, now=NOW)

    # 1 return over at least 20 releases: the tolerated 5%, costing nothing.
    assert result.score == 800
    assert result.contributions[0].rate == pytest.approx(0.05)


def test_the_returns_rate_costs_ten_points_a_percentage_point_above_five_up_to_its_cap() -> None:
    ten_percent = [scoring.DayCount(day=NOW.date(), released=100, returned=10)]
    all_returned = [scoring.DayCount(day=NOW.date(), released=100, returned=100)]

    assert scoring.compute(events=[], counts=ten_percent, now=NOW).score == 750
    assert scoring.compute(events=[], counts=all_returned, now=NOW).score == 800 - scoring.RETURNS_CAP
