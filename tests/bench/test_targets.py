import pytest

from bench.ceiling import Ceiling
from bench.model import RoundTrips, RunResults, StackResults, TickResults, WebLatency
from bench.stats import Summary
from bench.targets import Verdict, evaluate


def summary(p99: float) -> Summary:
    return Summary(count=100, p50=p99 / 2, p99=p99, mean=p99 / 2, max=p99)


def trips(throughput: float, peak: int | None = None) -> RoundTrips:
    return RoundTrips(10, 10, 0, 1.0, throughput, None, peak_connections=peak)


def results(
    taskiq: dict[str, RoundTrips],
    celery: dict[str, RoundTrips],
    *,
    web: WebLatency | None = None,
    lateness: float | None = None,
    ceiling: float | None = None,
) -> RunResults:
    run = RunResults("t", quick=False, machine={}, versions={}, web=web)
    ticks = TickResults(60, 60, summary(lateness)) if lateness is not None else None
    run.stacks["taskiq"] = StackResults({}, 30, round_trips=taskiq, ticks=ticks)
    run.stacks["celery"] = StackResults({}, 30, round_trips=celery)
    if ceiling is not None:
        run.ceiling = Ceiling("test", {"GET": ceiling}, ceiling)
    return run


def by_target(verdicts: list[Verdict]) -> dict[str, bool | None]:
    return {v.target: v.holds for v in verdicts}


@pytest.mark.parametrize(
    ("taskiq", "celery", "expected"),
    [
        ({"W1": trips(3000)}, {"W1": trips(1000)}, True),
        ({"W1": trips(2999)}, {"W1": trips(1000)}, False),
        ({}, {"W1": trips(1000)}, None),
    ],
)
def test_w1_ratio(
    taskiq: dict[str, RoundTrips], celery: dict[str, RoundTrips], expected: bool | None
) -> None:
    assert by_target(evaluate(results(taskiq, celery)))["W1 throughput ≥ 3×"] is expected


@pytest.mark.parametrize(
    ("taskiq_w3", "expected"),
    [
        (trips(500, peak=30), True),
        (trips(500, peak=31), False),  # over the pool budget of 30
        (trips(499, peak=10), False),  # under five times
        (trips(500), None),  # connections not sampled
    ],
)
def test_w3_ratio_within_budget(taskiq_w3: RoundTrips, expected: bool | None) -> None:
    verdicts = evaluate(results({"W3": taskiq_w3}, {"W3": trips(100)}))
    assert by_target(verdicts)["W3 throughput ≥ 5× within the pool budget"] is expected


@pytest.mark.parametrize(
    ("idle", "load", "anti", "expected_load", "expected_anti"),
    [
        (0.010, 0.015, 0.200, True, True),
        (0.010, 0.016, 0.200, False, True),
        (0.010, 0.012, 0.011, True, False),
    ],
)
def test_w4_load_against_idle_and_anti_pattern(
    idle: float, load: float, anti: float, expected_load: bool, expected_anti: bool
) -> None:
    web = WebLatency(
        {
            "GET /health": {
                "idle": summary(idle),
                "worker saturated": summary(load),
                "anti-pattern": summary(anti),
            }
        }
    )
    verdicts = by_target(evaluate(results({}, {}, web=web)))
    assert verdicts["W4 GET /health: p99 under load ≤ 1.5× idle"] is expected_load
    assert (
        verdicts["W4 GET /health: anti-pattern p99 worse than the stack under load"]
        is expected_anti
    )


@pytest.mark.parametrize(("lateness", "expected"), [(0.099, True), (0.1, False), (None, None)])
def test_w5_lateness(lateness: float | None, expected: bool | None) -> None:
    verdicts = by_target(evaluate(results({}, {}, lateness=lateness)))
    assert verdicts["W5 p99 tick lateness < 100 ms"] is expected


@pytest.mark.parametrize(
    ("throughput", "ceiling", "expected"),
    [(2500.0, 10_000.0, True), (2499.0, 10_000.0, False), (2500.0, None, None)],
)
def test_ceiling_share(throughput: float, ceiling: float | None, expected: bool | None) -> None:
    verdicts = by_target(evaluate(results({"W1": trips(throughput)}, {}, ceiling=ceiling)))
    assert verdicts["W1 throughput ≥ 25 % of the Redis ceiling"] is expected
