import pytest

from bench.ceiling import ceiling_tasks_per_second, parse_benchmark_csv

COLUMNS = "test rps avg_latency_ms min_latency_ms p50_latency_ms p95_latency_ms p99_latency_ms"
HEADER = ",".join(f'"{name}"' for name in f"{COLUMNS} max_latency_ms".split())


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ('"GET bench:ceiling:result","54347.83","0.5","0.1","0.4","0.9","1.2","3.0"', 54347.83),
        # redis-benchmark leaves the quotes of a JSON argument unescaped, commas included.
        (
            '"XADD s * data {"task_id":"0","args":[]}","25252.53","1","0","1","2","3","9"',
            25252.53,
        ),
    ],
)
def test_parse_benchmark_csv(row: str, expected: float) -> None:
    assert parse_benchmark_csv(f"{HEADER}\n{row}\n") == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", HEADER, f"{HEADER}\nnot,a,row"])
def test_parse_benchmark_csv_refuses_other_output(text: str) -> None:
    with pytest.raises(ValueError, match="redis-benchmark"):
        parse_benchmark_csv(text)


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ({"GET": 1000.0}, 1000.0),
        # Two commands at 1000/s each: 2 ms of Redis per task.
        ({"XADD": 1000.0, "XACK": 1000.0}, 500.0),
        ({"a": 100.0, "b": 300.0, "c": 150.0}, 50.0),
    ],
)
def test_ceiling_is_the_inverse_of_time_per_task(ops: dict[str, float], expected: float) -> None:
    assert ceiling_tasks_per_second(ops) == pytest.approx(expected)


@pytest.mark.parametrize("ops", [{}, {"GET": 0.0}, {"GET": 10.0, "SET": -1.0}])
def test_ceiling_needs_positive_rates(ops: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        ceiling_tasks_per_second(ops)
