"""Summaries of measured samples: percentiles, rates and ratios, all pure."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Summary", "grid_lateness", "percentile", "rate", "ratio", "summarize"]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks.

    Same definition as numpy's default, so a reader can recompute any number from the JSON.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} outside 0..100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    p50: float
    p99: float
    mean: float
    max: float


def summarize(values: Sequence[float]) -> Summary:
    return Summary(
        count=len(values),
        p50=percentile(values, 50.0),
        p99=percentile(values, 99.0),
        mean=sum(values) / len(values),
        max=max(values),
    )


def rate(count: int, seconds: float) -> float:
    """Events per second; a zero-length interval is a harness bug, not an infinite rate."""
    if seconds <= 0.0:
        raise ValueError(f"rate over a non-positive interval {seconds}")
    return count / seconds


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either side was not measured or is zero."""
    if numerator is None or denominator is None or denominator == 0.0:
        return None
    return numerator / denominator


def grid_lateness(times: Sequence[float], period: float) -> list[float]:
    """How late each tick of a periodic schedule ran, against the ideal grid t0 + k * period.

    Tick k is the one nearest to k periods after the first. The grid is anchored as early as the
    ticks allow (the least-late tick has lateness 0), so drift and jitter both show, while a
    constant offset a scheduler cannot know about (when its first tick "should" have been) does
    not.
    """
    if not times:
        return []
    first = times[0]
    slots = [round((t - first) / period) for t in times]
    anchor = min(t - k * period for t, k in zip(times, slots, strict=True))
    return [t - (anchor + k * period) for t, k in zip(times, slots, strict=True)]
