"""Percentiles and the figures of one open-model step."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

# A step is sustained when fewer than this share of its requests failed...
MAX_ERROR_RATE = 0.01
# ...and the answers kept up with the arrivals: the successful answers that came within the
# step's duration and a little more (``slack``) are at least this share of the requests sent.
MIN_KEPT_UP = 0.9


def slack(duration: float) -> float:
    """How long after a step's last due time its answers may still count as keeping up."""
    return max(1.0, 0.1 * duration)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100), interpolated between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(values: Sequence[float], scale: float = 1000.0, digits: int = 1) -> dict[str, Any]:
    """Count, mean and percentiles of ``values`` (seconds), in milliseconds by default."""

    def shown(value: float | None) -> float | None:
        return None if value is None else round(value * scale, digits)

    return {
        "count": len(values),
        "mean": shown(sum(values) / len(values)) if values else None,
        "p50": shown(percentile(values, 50)),
        "p95": shown(percentile(values, 95)),
        "p99": shown(percentile(values, 99)),
        "max": shown(max(values)) if values else None,
    }


def open_step(outcomes: Sequence[Sequence[Any]], *, rate: float, duration: float, start_at: float) -> dict[str, Any]:
    """The figures of one open-model step from the driver's outcomes (``bench.load``'s rows:
    parcel, kind, offset, lateness, latency, status, error, done_at)."""
    total = len(outcomes)
    ok = [row for row in outcomes if 200 <= row[5] < 300]
    answered = [row for row in outcomes if row[5]]
    statuses = Counter(str(row[5]) if row[5] else row[6] or "no answer" for row in outcomes)
    # A server that keeps up answers the step's requests within its duration (and a little more:
    # the last ones are answered a latency after their due time); one that falls behind answers
    # a growing share of them later, or not at all.
    in_time = [row for row in ok if row[7] <= start_at + duration + slack(duration)]
    achieved = len(in_time) / duration if duration > 0 else 0.0
    last = max((row[7] for row in outcomes), default=start_at)
    error_rate = (total - len(ok)) / total if total else 0.0
    return {
        "offered_per_s": round(rate, 1),
        "requests": total,
        "ok": len(ok),
        "error_rate": round(error_rate, 4),
        "statuses": dict(sorted(statuses.items())),
        "achieved_per_s": round(achieved, 1),
        "answered_in_time": len(in_time),
        "last_answer_after_s": round(last - start_at, 2),
        "latency_ms": distribution([row[4] for row in answered]),
        "driver_lateness_ms": distribution([row[3] for row in outcomes]),
        "sustained": error_rate < MAX_ERROR_RATE and len(in_time) >= MIN_KEPT_UP * total,
    }
