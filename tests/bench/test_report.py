import pytest

from bench.model import RoundTrips, RunResults, ScalePoint, StackResults
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


def five_stacks() -> RunResults:
    results = RunResults("2026-01-01T00:00:00Z", quick=False, machine={}, versions={})
    stacks = [
        ("taskiq", "this stack", 600.0, 0.05),
        ("bare-taskiq", "bare TaskIQ", 400.0, 0.1),
        ("saq", "SAQ", 500.0, 0.08),
        ("streaq", "streaq", 300.0, 0.2),
        ("celery", "Celery", 100.0, 0.2),
    ]
    for name, label, throughput, p50 in stacks:
        results.stacks[name] = StackResults(
            {"slots": "200"}, label=label, round_trips={"W1": trips(throughput, p50)}
        )
    return results


def test_render_compares_every_stack_with_the_best_peer_and_celery() -> None:
    text = render(five_stacks(), [], ["img/x.png"])
    header = (
        "| Metric | this stack | bare TaskIQ | SAQ | streaq | Celery "
        "| this stack ÷ best peer | this stack ÷ Celery |"
    )
    assert header in text
    # The best peer on throughput is SAQ (500/s); on latency SAQ too (80 ms).
    assert "| W1 no-op round trip: tasks/s | 600 | 400 | 500 | 300 | 100 | 1.20× | 6.00× |" in text
    assert (
        "| W1 no-op round trip: p50 kick→result | 50.0 ms | 100 ms | 80.0 ms | 200 ms | 200 ms "
        "| 1.60× | 4.00× |"
    ) in text
    assert "| SAQ | slots: 200 |" in text
    assert "![img/x.png](img/x.png)" in text


def test_render_without_peers_leaves_the_peer_ratio_empty() -> None:
    results = five_stacks()
    for peer in ("bare-taskiq", "saq", "streaq"):
        del results.stacks[peer]
    text = render(results, [], [])
    assert "| W1 no-op round trip: tasks/s | 600 | 100 | – | 6.00× |" in text


def test_render_counts_rows_for_the_batched_workload() -> None:
    results = five_stacks()
    results.stacks["taskiq"].round_trips["W3B"] = trips(9000, 0.5)
    text = render(results, [], [])
    assert "| W3b 100 rows per task: rows/s | 9,000 | – | – | – | – | – | – |" in text


def test_render_shows_the_scaling_table() -> None:
    results = five_stacks()
    latency = Summary(count=5, p50=0.1, p99=0.3, mean=0.1, max=0.4)
    results.scaling = [
        ScalePoint(1, 0, 5000, 1500.0, latency, 120.0, 60.0, 4.5),
        ScalePoint(2, 100_000, 100_000, 2500.0, latency, 250.0, 62.5, 80.25),
    ]
    text = render(results, [], [])
    assert "### W8 cost as work grows (this stack)" in text
    assert "| 1 | – | 5,000 | 1,500 | 100 ms | 300 ms | 120 | 60 | 4.5 |" in text
    assert "| 2 | 100,000 | 100,000 | 2,500 | 100 ms | 300 ms | 250 | 62 | 80.2 |" in text
