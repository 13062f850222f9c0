import pytest

from bench.stats import Summary, grid_lateness, percentile, rate, ratio, summarize


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([5.0], 99, 5.0),
        ([1.0, 2.0], 50, 1.5),
        ([3.0, 1.0, 2.0], 0, 1.0),
        ([3.0, 1.0, 2.0], 100, 3.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([float(i) for i in range(1, 101)], 99, 99.01),
        ([float(i) for i in range(1, 101)], 50, 50.5),
    ],
)
def test_percentile_interpolates_like_numpy(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], -1), ([1.0], 100.5)])
def test_percentile_refuses_nonsense(values: list[float], q: float) -> None:
    with pytest.raises(ValueError, match="percentile"):
        percentile(values, q)


def test_summarize() -> None:
    summary = summarize([4.0, 1.0, 3.0, 2.0])
    assert summary == Summary(count=4, p50=2.5, p99=summary.p99, mean=2.5, max=4.0)
    assert summary.p99 == pytest.approx(3.97)


@pytest.mark.parametrize(
    ("count", "seconds", "expected"), [(100, 2.0, 50.0), (0, 1.0, 0.0), (3, 0.5, 6.0)]
)
def test_rate(count: int, seconds: float, expected: float) -> None:
    assert rate(count, seconds) == expected


@pytest.mark.parametrize("seconds", [0.0, -1.0])
def test_rate_over_no_time_is_a_bug(seconds: float) -> None:
    with pytest.raises(ValueError, match="non-positive"):
        rate(1, seconds)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(10.0, 2.0, 5.0), (None, 2.0, None), (1.0, None, None), (1.0, 0.0, None), (0.0, 4.0, 0.0)],
)
def test_ratio(numerator: float | None, denominator: float | None, expected: float | None) -> None:
    assert ratio(numerator, denominator) == expected


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], []),
        ([100.0], [0.0]),
        # On time every second.
        ([100.0, 101.0, 102.0], [0.0, 0.0, 0.0]),
        # One tick 30 ms late, the others on the grid.
        ([100.0, 101.03, 102.0], [0.0, 0.03, 0.0]),
        # The first tick is the late one: the grid anchors on the others.
        ([100.2, 101.0, 102.0], [0.2, 0.0, 0.0]),
        # Drift: each period 10 ms long, lateness grows.
        ([100.0, 101.01, 102.02, 103.03], [0.0, 0.01, 0.02, 0.03]),
        # A missed tick leaves a gap, not a shifted grid.
        ([100.0, 101.0, 103.0], [0.0, 0.0, 0.0]),
    ],
)
def test_grid_lateness(times: list[float], expected: list[float]) -> None:
    assert grid_lateness(times, 1.0) == pytest.approx(expected)
