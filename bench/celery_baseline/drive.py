"""The Celery client side of a workload: `python -m bench.celery_baseline.drive ...`.

Results are awaited the way `AsyncResult.get()` does with a Redis backend (one pub/sub channel
per task), but with a window of tasks in flight: each result gets a `then` callback and this
loop drains the pub/sub connection between kicks.
"""

import sys
import time
from collections.abc import Callable, Sequence

from celery import states
from celery.result import AsyncResult

from bench.celery_baseline.app import app
from bench.celery_baseline.tasks import insert_row, noop, sleep
from bench.drive import SLEEP_SECONDS, DriveArgs, DriveReport, Plan, emit, parse_args

__all__ = ["drive"]


def _kicker(args: DriveArgs) -> Callable[[int], AsyncResult]:
    if args.workload == "noop":
        return lambda _seq: noop.apply_async()
    if args.workload == "sleep":
        return lambda _seq: sleep.apply_async((SLEEP_SECONDS,))
    return lambda seq: insert_row.apply_async((args.run_id, seq))


def drive(args: DriveArgs) -> DriveReport:
    kick = _kicker(args)
    consumer = app.backend.result_consumer
    report = DriveReport()
    # Held until done: a collected AsyncResult unsubscribes its channel in __del__.
    in_flight: dict[str, AsyncResult] = {}

    def on_ready(kicked_at: float, result: AsyncResult) -> None:
        report.latencies_s.append(time.perf_counter() - kicked_at)
        if result.state == states.SUCCESS:
            report.ok += 1
        else:
            report.failed += 1
        in_flight.pop(result.id, None)

    plan = Plan(args)
    while not plan.timed_out():
        while plan.may_kick(report.kicked, len(in_flight)):
            kicked_at = time.perf_counter()
            result = kick(report.kicked)
            in_flight[result.id] = result
            report.kicked += 1
            result.then(lambda ready, at=kicked_at: on_ready(at, ready))
        if not in_flight and not plan.may_kick(report.kicked, 0):
            break
        consumer.drain_events(timeout=0.2)
    report.wall_s = time.perf_counter() - plan.started
    return report


def main(argv: Sequence[str] | None = None) -> None:
    emit(drive(parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
