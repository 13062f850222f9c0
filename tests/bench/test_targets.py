import pytest

from bench.ceiling import Ceiling
from bench.model import RoundTrips, RunResults, StackResults, TickResults, WebLatency
from bench.stats import Summary
from bench.targets import Verdict, best_peer, evaluate


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


def with_peers(taskiq: float, peers: dict[str, float], workload: str = "W1") -> RunResults:
    run = results({workload: trips(taskiq)}, {})
    for peer, throughput in peers.items():
        run.stacks[peer] = StackResults({}, 30, round_trips={workload: trips(throughput)})
    return run


@pytest.mark.parametrize(
    ("taskiq", "peers", "measured", "holds"),
    [
        (1500.0, {"bare-taskiq": 1000.0, "saq": 900.0}, "1.50× (bare-taskiq)", True),
        (1499.0, {"bare-taskiq": 800.0, "saq": 1000.0}, "1.50× (saq)", False),
        (1000.0, {}, "not measured", None),
    ],
)
def test_against_the_best_peer(
    taskiq: float, peers: dict[str, float], measured: str, holds: bool | None
) -> None:
    target = "W2 throughput ≥ 1.5× the best of bare TaskIQ, SAQ and streaq"
    verdict = {v.target: v for v in evaluate(with_peers(taskiq, peers, "W2"))}[target]
    assert (verdict.measured, verdict.holds) == (measured, holds)


def test_best_peer_ignores_the_stack_and_celery() -> None:
    run = with_peers(5000.0, {"streaq": 700.0})
    run.stacks["celery"].round_trips["W1"] = trips(9000.0)
    assert best_peer(run, "W1") == ("streaq", 700.0)


@pytest.mark.parametrize(("batched", "expected"), [(3000.0, True), (2999.0, False)])
def test_batched_writes_against_celerys_seed_pattern(batched: float, expected: bool) -> None:
    run = results({"W3B": trips(batched)}, {"W3": trips(1000.0), "W3B": trips(5000.0)})
    target = "W3b batched rows/s ≥ 3× Celery's W3 (one row per task)"
    assert by_target(evaluate(run))[target] is expected
