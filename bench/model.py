"""What a run measured, as plain dataclasses: written as JSON, read by the report."""

from dataclasses import dataclass, field

from bench.ceiling import Ceiling
from bench.stats import Summary

__all__ = [
    "Check",
    "RoundTrips",
    "RunResults",
    "ScalePoint",
    "StackResults",
    "TickResults",
    "WebLatency",
]

Rss = dict[str, dict[str, float]]


@dataclass(slots=True)
class RoundTrips:
    kicked: int
    ok: int
    failed: int
    wall_s: float
    throughput: float
    latency: Summary | None
    peak_connections: int | None = None
    rows_written: int | None = None


@dataclass(slots=True)
class ScalePoint:
    """W8: one W1 run of this stack at a process count, or draining a backlog queued before
    its workers started (`queued_before_start` tasks; 0: kicked while they run)."""

    processes: int
    queued_before_start: int
    tasks: int
    # With a backlog: results/s from the first result to the last (worker start-up excluded).
    throughput: float
    # Kick to result; with a backlog this includes the time a task waited for workers to start.
    latency: Summary | None
    worker_rss_mb: float  # peak, every worker process summed
    worker_rss_per_process_mb: float  # that peak over the process count (main excluded)
    redis_used_mb: float  # peak growth of Redis used_memory over the run (whole server)


@dataclass(slots=True)
class TickResults:
    ticks: int
    expected: int
    lateness: Summary | None


@dataclass(slots=True)
class StackResults:
    settings: dict[str, str]
    # Most connections this stack's pools may open (processes x (pool_size + max_overflow)).
    connection_budget: int | None = None
    label: str = ""
    round_trips: dict[str, RoundTrips] = field(default_factory=dict)
    ticks: TickResults | None = None
    bulk_kicks_per_s: float | None = None
    rss_idle: Rss = field(default_factory=dict)
    rss_w1: Rss = field(default_factory=dict)


@dataclass(slots=True)
class WebLatency:
    """p50/p99 per route ("GET /health") and phase ("idle", "worker saturated", "anti-pattern")."""

    by_route: dict[str, dict[str, Summary]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(slots=True)
class RunResults:
    started_at: str
    quick: bool
    machine: dict[str, str]
    versions: dict[str, str]
    ceiling: Ceiling | None = None
    stacks: dict[str, StackResults] = field(default_factory=dict)
    web: WebLatency | None = None
    scaling: list[ScalePoint] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0
