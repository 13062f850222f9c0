"""The driver protocol: each stack's client runs one workload in a process of its own.

The harness starts `python -m bench.<stack>.drive --workload ... --n ... --window ...`, which
kicks tasks through that stack's own client, keeps `window` of them in flight, collects every
result, and prints one JSON `DriveReport` on stdout. A separate process per client keeps the
two frameworks (and their settings, read from the environment) out of the harness.
"""

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, cast, get_args

__all__ = ["DriveArgs", "DriveReport", "Plan", "Workload", "emit", "parse_args", "read_report"]

Workload = Literal["noop", "sleep", "insert"]
SLEEP_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class DriveArgs:
    workload: Workload
    n: int
    window: int
    run_id: str
    # When set, keep kicking (up to n) until this many seconds have passed: W4's background load.
    seconds: float | None
    timeout: float


@dataclass(slots=True)
class DriveReport:
    kicked: int = 0
    ok: int = 0
    failed: int = 0
    wall_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    """When to kick the next task and when the run is over (results drained or timed out)."""

    args: DriveArgs
    started: float = field(default_factory=time.perf_counter)

    def may_kick(self, kicked: int, in_flight: int) -> bool:
        if kicked >= self.args.n or in_flight >= self.args.window:
            return False
        seconds = self.args.seconds
        return seconds is None or time.perf_counter() - self.started < seconds

    def timed_out(self) -> bool:
        return time.perf_counter() - self.started > self.args.timeout


def parse_args(argv: Sequence[str] | None = None) -> DriveArgs:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", choices=get_args(Workload), required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--window", type=int, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--timeout", type=float, default=600.0)
    ns = parser.parse_args(argv)
    return DriveArgs(
        workload=cast(Workload, ns.workload),
        n=ns.n,
        window=ns.window,
        run_id=ns.run_id,
        seconds=ns.seconds,
        timeout=ns.timeout,
    )


def emit(report: DriveReport) -> None:
    print(json.dumps(asdict(report)), flush=True)


def read_report(stdout: str) -> DriveReport:
    """The report is the last stdout line: frameworks may print banners before it."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise ValueError(f"driver printed no report: {stdout[-2000:]!r}")
    return DriveReport(**json.loads(lines[-1]))
