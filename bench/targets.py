"""The issue's targets, checked against a run's results: a pure function of them."""

from collections.abc import Callable
from dataclasses import dataclass

from bench.model import RunResults
from bench.stats import ratio

__all__ = ["CELERY", "TASKIQ", "Verdict", "evaluate"]

CELERY = "celery"
TASKIQ = "taskiq"
LOAD = "worker saturated"
IDLE = "idle"
ANTI = "anti-pattern"


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    measured: str
    holds: bool | None  # None: not measured in this run


def _throughput_ratio(results: RunResults, workload: str) -> float | None:
    def throughput(stack: str) -> float | None:
        side = results.stacks.get(stack)
        trips = side.round_trips.get(workload) if side else None
        return trips.throughput if trips else None

    return ratio(throughput(TASKIQ), throughput(CELERY))


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
        _at_least("W1 throughput ≥ 3×", _throughput_ratio(results, "W1"), 3.0, _times),
        _at_least("W2 throughput ≥ 20×", _throughput_ratio(results, "W2"), 20.0, _times),
        _w3(results),
        *_w4(results),
        _w5(results),
        _ceiling_share(results),
    ]
