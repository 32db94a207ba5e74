"""The clearance-time histogram every rollup row carries, and percentiles from summed histograms.

Durations are whole seconds. ``EDGES`` are log-spaced (about 1.25 apart, 1 s to 36 days);
bucket ``i`` holds ``EDGES[i-1] <= s < EDGES[i]`` (bucket 0: under 1 s; the last bucket: 36 days
and more). The same integer edges are used in Python (``bisect``) and in SQL (``width_bucket``
over the same array), so the live rollup and the recomputation put a duration in the same bucket.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

EDGES: tuple[int, ...] = tuple(sorted({round(1.25**k) for k in range(68)}))
BUCKETS = len(EDGES) + 1
# The columns of the histogram: clearance_h00 ... clearance_h65.
COLUMNS: tuple[str, ...] = tuple(f"clearance_h{i:02d}" for i in range(BUCKETS))


def bucket_of(seconds: int) -> int:
    """The histogram bucket of a duration in whole seconds."""
    return bisect_right(EDGES, max(seconds, 0))


def sql_bucket(seconds_sql: str) -> str:
    """The SQL expression of ``bucket_of`` (PostgreSQL ``width_bucket`` with the same edges)."""
    edges = ",".join(str(edge) for edge in EDGES)
    return f"width_bucket(GREATEST({seconds_sql}, 0), ARRAY[{edges}]::bigint[])"


def bucket_bounds(index: int) -> tuple[float, float]:
    low = 0.0 if index == 0 else float(EDGES[index - 1])
    high = float(EDGES[index]) if index < len(EDGES) else float(EDGES[-1]) * 1.25
    return low, high


def percentile(histogram: Sequence[int], fraction: float) -> float | None:
    """The ``fraction`` quantile (0.5, 0.9, 0.99) of the durations a histogram counts, in
    seconds, interpolated linearly inside its bucket; None when it counts nothing."""
    total = sum(histogram)
    if total <= 0:
        return None
    rank = fraction * total
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            low, high = bucket_bounds(index)
            inside = (rank - seen) / count
            return round(low + (high - low) * inside, 1)
        seen += count
    low, high = bucket_bounds(len(histogram) - 1)
    return high
