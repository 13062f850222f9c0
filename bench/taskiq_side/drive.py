"""The TaskIQ client side of a workload: `python -m bench.taskiq_side.drive ...`.

Kicks through the stack's broker (as the web process does) and awaits each result with
taskiq's own `wait_result`, which polls the result backend every `check_interval` seconds
(taskiq's default 0.2 s unless BENCH_TASKIQ_CHECK_INTERVAL says otherwise), or, with
BENCH_TASKIQ_WAIT=batched, with the prototype waiter in `bench.taskiq_side.waiter`.
"""

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from taskiq import AsyncTaskiqTask
from taskiq_redis import RedisAsyncResultBackend

from bench.drive import SLEEP_SECONDS, DriveArgs, DriveReport, Plan, emit, parse_args
from bench.taskiq_side.tasks import insert_row, noop, sleep
from bench.taskiq_side.waiter import BatchedResults, PerTaskPolling
from tasks.broker import broker

__all__ = ["drive"]

CHECK_INTERVAL = float(os.environ.get("BENCH_TASKIQ_CHECK_INTERVAL", "0.2"))
Kick = Callable[[int], Awaitable[AsyncTaskiqTask[Any]]]


def _waiter() -> PerTaskPolling | BatchedResults:
    if os.environ.get("BENCH_TASKIQ_WAIT") != "batched":
        return PerTaskPolling(CHECK_INTERVAL)
    backend = broker.result_backend
    if not isinstance(backend, RedisAsyncResultBackend):
        raise TypeError(f"the batched waiter reads a Redis result backend, not {backend!r}")
    return BatchedResults(backend, every=CHECK_INTERVAL)


def _kicker(args: DriveArgs) -> Kick:
    if args.workload == "noop":
        return lambda _seq: noop.kiq()
    if args.workload == "sleep":
        return lambda _seq: sleep.kiq(SLEEP_SECONDS)
    return lambda seq: insert_row.kiq(args.run_id, seq)


async def _round_trip(
    kick: Kick, waiter: PerTaskPolling | BatchedResults, seq: int, report: DriveReport
) -> None:
    kicked_at = time.perf_counter()
    result = await waiter.wait(await kick(seq))
    report.latencies_s.append(time.perf_counter() - kicked_at)
    if result.is_err:
        report.failed += 1
    else:
        report.ok += 1


async def drive(args: DriveArgs) -> DriveReport:
    kick = _kicker(args)
    report = DriveReport()
    running: set[asyncio.Task[None]] = set()
    await broker.startup()
    waiter = _waiter()
    try:
        plan = Plan(args)
        while not plan.timed_out():
            while plan.may_kick(report.kicked, len(running)):
                running.add(asyncio.create_task(_round_trip(kick, waiter, report.kicked, report)))
                report.kicked += 1
            if not running:
                break
            done, running = await asyncio.wait(
                running, timeout=0.2, return_when=asyncio.FIRST_COMPLETED
            )
            for finished in done:
                if finished.exception() is not None:
                    report.failed += 1
        report.wall_s = time.perf_counter() - plan.started
        for task in running:
            task.cancel()
    finally:
        await waiter.close()
        await broker.shutdown()
    return report


def main(argv: Sequence[str] | None = None) -> None:
    emit(asyncio.run(drive(parse_args(argv))))


if __name__ == "__main__":
    main(sys.argv[1:])
