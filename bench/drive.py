"""The driver protocol: each stack's client runs one workload in a process of its own.

The harness starts `python -m bench.<stack>.drive --workload ... --n ... --window ...`, which
kicks tasks through that stack's own client, keeps `window` of them in flight (a window of `n`:
every task kicked, one after the other, then every result awaited), collects every result, and
prints one JSON `DriveReport` on stdout. A separate process per client keeps the frameworks
(and their settings, read from the environment) out of the harness.
"""

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any, Literal, TypeVar, cast, get_args

__all__ = [
    "BATCH_ROWS",
    "KICKED",
    "DriveArgs",
    "DriveReport",
    "Plan",
    "TaskName",
    "Workload",
    "by_task_name",
    "drive_async",
    "emit",
    "main_async",
    "parse_args",
    "read_report",
    "task_call",
]

Workload = Literal["noop", "sleep", "insert", "insert_batch"]
# The bench task every side defines under these names, and what a workload kicks.
TaskName = Literal["noop", "sleep", "insert_row", "insert_rows"]
SLEEP_SECONDS = 0.05
# Rows one `insert_batch` task writes: the batched-write pattern (docs/patterns/write-heavy.md).
BATCH_ROWS = 100
H = TypeVar("H")  # what a kick returns: the side's handle on the task
# Printed (with --announce) once every kick has returned: the backlog is in Redis.
KICKED = "bench: every task kicked"


@dataclass(frozen=True, slots=True)
class DriveArgs:
    workload: Workload
    n: int
    window: int
    run_id: str
    # When set, keep kicking (up to n) until this many seconds have passed: W4's background load.
    seconds: float | None
    timeout: float
    batch: int = BATCH_ROWS
    announce: bool = False


@dataclass(slots=True)
class DriveReport:
    kicked: int = 0
    ok: int = 0
    failed: int = 0
    wall_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    # Seconds from the driver's start to its first and last result: W8 drains a backlog between.
    first_result_s: float | None = None
    last_result_s: float | None = None

    def settled(self, kicked_at: float, succeeded: bool, started: float) -> None:
        """Count one task's outcome, collected now."""
        now = time.perf_counter()
        self.latencies_s.append(now - kicked_at)
        if self.first_result_s is None:
            self.first_result_s = now - started
        self.last_result_s = now - started
        if succeeded:
            self.ok += 1
        else:
            self.failed += 1

    def drain_rate(self) -> float | None:
        """Results per second between the first and the last one (None below two results)."""
        first, last = self.first_result_s, self.last_result_s
        done = self.ok + self.failed
        if first is None or last is None or done < 2 or last <= first:
            return None
        return (done - 1) / (last - first)


@dataclass(slots=True)
class Plan:
    """When to kick the next task and when the run is over (results drained or timed out)."""

    args: DriveArgs
    started: float = field(default_factory=time.perf_counter)
    announced: bool = False

    def may_kick(self, kicked: int, in_flight: int) -> bool:
        if kicked >= self.args.n or in_flight >= self.args.window:
            return False
        seconds = self.args.seconds
        return seconds is None or time.perf_counter() - self.started < seconds

    def timed_out(self) -> bool:
        return time.perf_counter() - self.started > self.args.timeout

    def announce_when_kicked(self, kicked: int) -> None:
        """With --announce, say once that every kick has returned (W8 starts workers then)."""
        if self.args.announce and not self.announced and kicked >= self.args.n:
            print(KICKED, flush=True)
            self.announced = True


def by_task_name(module: ModuleType) -> dict[TaskName, Any]:
    """A side's bench tasks (its `tasks` module defines one per `TaskName`), by name."""
    return {name: getattr(module, name) for name in get_args(TaskName)}


def task_call(args: DriveArgs, seq: int) -> tuple[TaskName, dict[str, object]]:
    """The task the `seq`-th kick of a workload calls, and its keyword arguments."""
    if args.workload == "noop":
        return "noop", {}
    if args.workload == "sleep":
        return "sleep", {"seconds": SLEEP_SECONDS}
    if args.workload == "insert":
        return "insert_row", {"run_id": args.run_id, "seq": seq}
    return "insert_rows", {"run_id": args.run_id, "first": seq * args.batch, "count": args.batch}


async def drive_async(
    args: DriveArgs,
    kick: Callable[[int], Awaitable[H]],
    collect: Callable[[H], Awaitable[bool]],
) -> DriveReport:
    """Kick one task at a time while the window has room; `collect` awaits a task's result
    (True: it succeeded). Used by every asyncio client; a failed collect counts as failed."""
    report = DriveReport()
    running: set[asyncio.Task[None]] = set()

    plan = Plan(args)

    async def round_trip(handle: H, kicked_at: float) -> None:
        report.settled(kicked_at, await collect(handle), plan.started)

    while not plan.timed_out():
        while plan.may_kick(report.kicked, len(running)):
            kicked_at = time.perf_counter()
            handle = await kick(report.kicked)
            report.kicked += 1
            running.add(asyncio.create_task(round_trip(handle, kicked_at)))
        plan.announce_when_kicked(report.kicked)
        if not running:
            break
        done, running = await asyncio.wait(
            running, timeout=0.2, return_when=asyncio.FIRST_COMPLETED
        )
        report.failed += sum(1 for finished in done if finished.exception() is not None)
    report.wall_s = time.perf_counter() - plan.started
    for task in running:
        task.cancel()
    return report


def parse_args(argv: Sequence[str] | None = None) -> DriveArgs:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", choices=get_args(Workload), required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--window", type=int, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--batch", type=int, default=BATCH_ROWS, help="rows per insert_batch task")
    parser.add_argument("--announce", action="store_true", help=f"print {KICKED!r} when kicked")
    ns = parser.parse_args(argv)
    if ns.n < 0 or ns.window < 1 or ns.batch < 1:
        parser.error("--n must be >= 0, --window and --batch >= 1")
    return DriveArgs(
        workload=cast(Workload, ns.workload),
        n=ns.n,
        window=ns.window,
        run_id=ns.run_id,
        seconds=ns.seconds,
        timeout=ns.timeout,
        batch=ns.batch,
        announce=ns.announce,
    )


def main_async(
    drive: Callable[[DriveArgs], Coroutine[Any, Any, DriveReport]],
    argv: Sequence[str] | None = None,
) -> None:
    """An asyncio driver's `__main__`: parse the arguments, run the workload, print the report."""
    emit(asyncio.run(drive(parse_args(argv))))


def emit(report: DriveReport) -> None:
    print(json.dumps(asdict(report)), flush=True)


def read_report(stdout: str) -> DriveReport:
    """The report is the last stdout line: frameworks may print banners before it."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise ValueError(f"driver printed no report: {stdout[-2000:]!r}")
    return DriveReport(**json.loads(lines[-1]))
