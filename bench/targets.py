"""The issue's targets, checked against a run's results: a pure function of them."""

from collections.abc import Callable
from dataclasses import dataclass

from bench.model import RunResults
from bench.stats import ratio

__all__ = ["CELERY", "PEERS", "TASKIQ", "Verdict", "best_peer", "evaluate"]

CELERY = "celery"
TASKIQ = "taskiq"
# The async peers, in report order: what a team leaving Celery could pick instead.
PEERS = ("bare-taskiq", "saq", "streaq")
LOAD = "worker saturated"
IDLE = "idle"
ANTI = "anti-pattern"


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    measured: str
    holds: bool | None  # None: not measured in this run


def _throughput(results: RunResults, stack: str, workload: str) -> float | None:
    side = results.stacks.get(stack)
    trips = side.round_trips.get(workload) if side else None
    return trips.throughput if trips else None


def _throughput_ratio(results: RunResults, workload: str) -> float | None:
    return ratio(_throughput(results, TASKIQ, workload), _throughput(results, CELERY, workload))


def best_peer(results: RunResults, workload: str) -> tuple[str, float] | None:
    """The async peer with the highest throughput on `workload`, and that throughput."""
    measured = [
        (peer, value)
        for peer in PEERS
        if (value := _throughput(results, peer, workload)) is not None
    ]
    return max(measured, key=lambda item: item[1]) if measured else None


def _over_best_peer(results: RunResults, workload: str, label: str) -> Verdict:
    target = f"{label} ≥ 1.5× the best of bare TaskIQ, SAQ and streaq"
    best = best_peer(results, workload)
    value = ratio(_throughput(results, TASKIQ, workload), best[1] if best else None)
    if best is None or value is None:
        return Verdict(target, "not measured", None)
    return Verdict(target, f"{value:.2f}× ({best[0]})", value >= 1.5)


def _batched_over_celery(results: RunResults) -> Verdict:
    """The issue's database target: the batched pattern allowed on this stack, against
    Celery's one-row-per-task seed pattern."""
    value = ratio(_throughput(results, TASKIQ, "W3B"), _throughput(results, CELERY, "W3"))
    return _at_least("W3b batched rows/s ≥ 3× Celery's W3 (one row per task)", value, 3.0, _times)


def _at_least(
    target: str, value: float | None, bound: float, shown: Callable[[float], str]
) -> Verdict:
    if value is None:
        return Verdict(target, "not measured", None)
    return Verdict(target, shown(value), value >= bound)


def _times(value: float) -> str:
    return f"{value:.1f}×"


def _w3(results: RunResults) -> Verdict:
    target = "W3 throughput ≥ 5× within the pool budget"
    value = _throughput_ratio(results, "W3")
    side = results.stacks.get(TASKIQ)
    trips = side.round_trips.get("W3") if side else None
    if value is None or side is None or trips is None or trips.peak_connections is None:
        return Verdict(target, "not measured", None)
    budget = side.connection_budget
    within = budget is None or trips.peak_connections <= budget
    shown = f"{value:.1f}×, peak {trips.peak_connections} connections (budget {budget})"
    return Verdict(target, shown, value >= 5.0 and within)


def _w4(results: RunResults) -> list[Verdict]:
    if results.web is None:
        return [Verdict("W4 p99 under load ≤ 1.5× idle p99", "not measured", None)]
    verdicts = []
    for route, phases in results.web.by_route.items():
        idle, load, anti = phases.get(IDLE), phases.get(LOAD), phases.get(ANTI)
        if idle is None or load is None:
            verdicts.append(
                Verdict(f"W4 {route}: p99 under load ≤ 1.5× idle", "not measured", None)
            )
            continue
        growth = load.p99 / idle.p99
        verdicts.append(
            Verdict(f"W4 {route}: p99 under load ≤ 1.5× idle", _times(growth), growth <= 1.5)
        )
        if anti is not None:
            verdicts.append(
                Verdict(
                    f"W4 {route}: anti-pattern p99 worse than the stack under load",
                    f"{anti.p99 * 1000:.1f} ms vs {load.p99 * 1000:.1f} ms",
                    anti.p99 > load.p99,
                )
            )
    return verdicts


def _w5(results: RunResults) -> Verdict:
    side = results.stacks.get(TASKIQ)
    lateness = side.ticks.lateness if side and side.ticks else None
    target = "W5 p99 tick lateness < 100 ms"
    if lateness is None:
        return Verdict(target, "not measured", None)
    return Verdict(target, f"{lateness.p99 * 1000:.1f} ms", lateness.p99 < 0.1)


def _ceiling_share(results: RunResults) -> Verdict:
    side = results.stacks.get(TASKIQ)
    trips = side.round_trips.get("W1") if side else None
    ceiling = results.ceiling.tasks_per_second if results.ceiling else None
    share = ratio(trips.throughput if trips else None, ceiling)
    return _at_least("W1 throughput ≥ 25 % of the Redis ceiling", share, 0.25, lambda v: f"{v:.0%}")


def evaluate(results: RunResults) -> list[Verdict]:
    return [
        _over_best_peer(results, "W1", "W1 throughput"),
        _over_best_peer(results, "W2", "W2 throughput"),
        _batched_over_celery(results),
        _at_least("W1 throughput ≥ 3×", _throughput_ratio(results, "W1"), 3.0, _times),
        _at_least("W2 throughput ≥ 20×", _throughput_ratio(results, "W2"), 20.0, _times),
        _w3(results),
        *_w4(results),
        _w5(results),
        _ceiling_share(results),
    ]
