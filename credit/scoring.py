"""The score: documented weights, exponential decay, caps per kind, the grade bands.

Pure functions of what credit recorded; ``docs/credit.md`` explains each figure. The weights
here are those given to credit events when they are recorded (the row keeps its weight: a
change here moves new events only), and the regulators' bounds for the kinds they record.

    score = clamp(BASE + sum over kinds of capped(sum of weight x decay(age)) + returns term, 0, 1000)
    decay(age) = 0.5 ** (age in days / HALF_LIFE_DAYS)
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from credit.models import SCORE_MAX, CreditEventKind, Grade

K = CreditEventKind

BASE_SCORE = 800
HALF_LIFE_DAYS = 180
# Older events are left out: at six half-lives a weight keeps under 2% of itself.
HORIZON_DAYS = 3 * 365


@dataclass(frozen=True)
class KindRule:
    """The weight a credit event of a kind carries, the most its kind may move the score in
    all (``cap``, in points, either way), and the range a regulator may give one."""

    weight: int
    cap: int
    lowest: int
    highest: int


def _fixed(weight: int, cap: int) -> KindRule:
    return KindRule(weight=weight, cap=cap, lowest=weight, highest=weight)


RULES: dict[str, KindRule] = {
    K.CUSTOMS_REJECTION: _fixed(-15, 200),
    K.INSPECTION_FINDING: _fixed(-60, 300),
    K.DETENTION: _fixed(-40, 250),
    K.RISK_BLOCK: _fixed(-30, 200),
    K.MATCHING_FAILURE: _fixed(-5, 100),
    K.LATE_PARCEL: _fixed(-2, 100),
    K.LOST_PARCEL: _fixed(-10, 150),
    K.PENALTY: KindRule(weight=-150, cap=600, lowest=-500, highest=-1),
    K.COMMENDATION: KindRule(weight=50, cap=150, lowest=1, highest=150),
    K.CERTIFICATION: KindRule(weight=100, cap=200, lowest=1, highest=200),
}

# The returns rate: lists returned over lists released (both decayed like events). Up to
# RETURNS_TOLERATED costs nothing; each point of rate above it costs RETURNS_POINTS_PER_RATE / 100
# points, at most RETURNS_CAP. Fewer than RETURNS_MIN_RELEASES releases are counted as that
# many, so a handful of lists can't make a rate.
RETURNS_KIND = "returns_rate"
RETURNS_TOLERATED = 0.05
RETURNS_POINTS_PER_RATE = 1000
RETURNS_CAP = 150
RETURNS_MIN_RELEASES = 20

# Grade bands: the lowest score of each grade, best first.
BANDS: tuple[tuple[int, str], ...] = (
    (900, Grade.AAA),
    (850, Grade.AA),
    (750, Grade.A),
    (600, Grade.BBB),
    (0, Grade.BB),
)


def decay(age: datetime.timedelta) -> float:
    """What is left of a weight after ``age``: 1 now, 0.5 after a half-life; a future date is now."""
    days = max(age.total_seconds(), 0.0) / 86400
    return float(0.5 ** (days / HALF_LIFE_DAYS))


def grade_of(score: int) -> str:
    return next(grade for lowest, grade in BANDS if score >= lowest)


def horizon(now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(days=HORIZON_DAYS)


@dataclass(frozen=True)
class Contribution:
    """What one kind did to the score: how many events, and the points after decay and cap."""

    kind: str
    count: int
    points: float
    capped: bool = False
    rate: float | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "count": self.count, "contribution": round(self.points, 1)}
        if self.capped:
            data["capped"] = True
        if self.rate is not None:
            data["rate"] = round(self.rate, 4)
        return data


@dataclass(frozen=True)
class Computation:
    score: int
    grade: str
    contributions: tuple[Contribution, ...]
    as_of: datetime.datetime

    def explanation(self) -> dict[str, Any]:
        """As stored with the score and shown in the report: the base, the half-life and each
        kind's contribution, largest first."""
        return {
            "base": BASE_SCORE,
            "half_life_days": HALF_LIFE_DAYS,
            "contributions": [c.as_dict() for c in self.contributions],
        }


@dataclass(frozen=True)
class Recorded:
    """A credit event as the computation needs it."""

    kind: str
    weight: int
    occurred_at: datetime.datetime


@dataclass(frozen=True)
class DayCount:
    day: datetime.date
    released: int
    returned: int


def _day_age(day: datetime.date, now: datetime.datetime) -> datetime.timedelta:
    return datetime.timedelta(days=(now.date() - day).days)


def _returns(counts: Iterable[DayCount], now: datetime.datetime) -> Contribution | None:
    released = returned = 0.0
    returns = 0
    for count in counts:
        factor = decay(_day_age(count.day, now))
        released += count.released * factor
        returned += count.returned * factor
        returns += count.returned
    if not returns:
        return None
    rate = returned / max(released, RETURNS_MIN_RELEASES)
    cost = max(0.0, rate - RETURNS_TOLERATED) * RETURNS_POINTS_PER_RATE
    return Contribution(
        kind=RETURNS_KIND, count=returns, points=-min(cost, RETURNS_CAP), capped=cost > RETURNS_CAP, rate=rate
    )


def compute(*, events: Iterable[Recorded], counts: Iterable[DayCount], now: datetime.datetime) -> Computation:
    """The score of an enterprise with these credit events and daily counts, at ``now``.

    1. Each event's weight decays with its age; the events of a kind are summed.
    2. Each kind's sum is held within its cap.
    3. The returns rate adds its own (negative) term.
    4. The base plus the terms, rounded and clamped to 0..1000, and its grade.
    """
    # 1.
    sums: dict[str, float] = {}
    numbers: dict[str, int] = {}
    for event in events:
        sums[event.kind] = sums.get(event.kind, 0.0) + event.weight * decay(now - event.occurred_at)
        numbers[event.kind] = numbers.get(event.kind, 0) + 1
    # 2.
    contributions = []
    for kind, total in sums.items():
        cap = RULES[kind].cap if kind in RULES else abs(total)
        bounded = max(-cap, min(cap, total))
        contributions.append(Contribution(kind=kind, count=numbers[kind], points=bounded, capped=bounded != total))
    # 3.
    returns = _returns(counts, now)
    if returns is not None:
        contributions.append(returns)
    # 4.
    raw = BASE_SCORE + sum(c.points for c in contributions)
    score = max(0, min(SCORE_MAX, round(raw)))
    ordered = tuple(sorted(contributions, key=lambda c: (-abs(c.points), c.kind)))
    return Computation(score=score, grade=grade_of(score), contributions=ordered, as_of=now)
