"""The TaskIQ client side of a workload: `python -m bench.taskiq_side.drive ...`.

Kicks through the stack's broker (as the web process does) and awaits each result with the
stack's `taskiq_durable.results.ResultWaiter`: one MGET per tick for every pending result.
"""

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from taskiq import AsyncTaskiqTask
from taskiq_durable.results import ResultWaiter

from bench.drive import SLEEP_SECONDS, DriveArgs, DriveReport, Plan, emit, parse_args
from bench.taskiq_side.tasks import insert_row, noop, sleep
from tasks.broker import broker

__all__ = ["drive"]

Kick = Callable[[int], Awaitable[AsyncTaskiqTask[Any]]]


def _kicker(args: DriveArgs) -> Kick:
    if args.workload == "noop":
        return lambda _seq: noop.kiq()
    if args.workload == "sleep":
        return lambda _seq: sleep.kiq(SLEEP_SECONDS)
    return lambda seq: insert_row.kiq(args.run_id, seq)


async def _round_trip(
    kick: Kick, waiter: ResultWaiter, seq: int, report: DriveReport, within: float
) -> None:
    kicked_at = time.perf_counter()
    result = await waiter.wait(await kick(seq), within=within)
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
    waiter = ResultWaiter.for_broker(broker)
    try:
        plan = Plan(args)
        while not plan.timed_out():
            while plan.may_kick(report.kicked, len(running)):
                round_trip = _round_trip(kick, waiter, report.kicked, report, args.timeout)
                running.add(asyncio.create_task(round_trip))
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
