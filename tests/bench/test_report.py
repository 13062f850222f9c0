import pytest

from bench.model import RoundTrips, RunResults, StackResults
from bench.report import BEGIN, END, fmt_ms, fmt_rate, fmt_ratio, render, splice, table
from bench.stats import Summary


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "–"), (12.34, "12.3"), (1234.5, "1,234"), (100.0, "100")]
)
def test_fmt_rate(value: float | None, expected: str) -> None:
    assert fmt_rate(value) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"), [(None, "–"), (0.0123, "12.3 ms"), (0.25, "250 ms"), (2.5, "2,500 ms")]
)
def test_fmt_ms(seconds: float | None, expected: str) -> None:
    assert fmt_ms(seconds) == expected


@pytest.mark.parametrize(("value", "expected"), [(None, "–"), (3.0, "3.00×"), (0.456, "0.46×")])
def test_fmt_ratio(value: float | None, expected: str) -> None:
    assert fmt_ratio(value) == expected


def test_table() -> None:
    assert table(["a", "b"], [["1", "2"], ["3", "4"]]) == (
        "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |"
    )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("# Benchmarks\n", f"# Benchmarks\n\n{BEGIN}\nnew\n{END}\n"),
        (f"intro\n{BEGIN}\nold\n{END}\nafter\n", f"intro\n{BEGIN}\nnew\n{END}\nafter\n"),
    ],
)
def test_splice_keeps_the_hand_written_parts(document: str, expected: str) -> None:
    assert splice(document, "new\n") == expected


def test_splice_refuses_a_broken_block() -> None:
    with pytest.raises(ValueError, match="end marker"):
        splice(f"{BEGIN}\nold\n", "new")


def trips(throughput: float, p50: float) -> RoundTrips:
    latency = Summary(count=10, p50=p50, p99=p50 * 2, mean=p50, max=p50 * 3)
    return RoundTrips(10, 10, 0, 1.0, throughput, latency)


def test_render_compares_the_stacks() -> None:
    results = RunResults("2026-01-01T00:00:00Z", quick=False, machine={}, versions={})
    results.stacks["celery"] = StackResults(
        {"pool": "prefork"}, round_trips={"W1": trips(100, 0.2)}
    )
    results.stacks["taskiq"] = StackResults({"workers": "2"}, round_trips={"W1": trips(400, 0.05)})
    text = render(results, [], ["img/x.png"])
    assert "| W1 no-op round trip: tasks/s | 100 | 400 | 4.00× |" in text
    # Latency ratios read "times better" too: Celery's latency over TaskIQ's.
    assert "| W1 no-op round trip: p50 kick→result | 200 ms | 50.0 ms | 4.00× |" in text
    assert "![img/x.png](img/x.png)" in text
