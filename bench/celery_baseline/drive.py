"""The Celery client side of a workload: `python -m bench.celery_baseline.drive ...`.

Results are awaited the way `AsyncResult.get()` does with a Redis backend (one pub/sub channel
per task), but with a window of tasks in flight: each result gets a `then` callback and this
loop drains the pub/sub connection between kicks.
"""

import sys
import time
from collections.abc import Sequence

from celery import states
from celery.result import AsyncResult

from bench.celery_baseline import tasks
from bench.celery_baseline.app import app
from bench.drive import DriveArgs, DriveReport, Plan, by_task_name, emit, parse_args, task_call

__all__ = ["drive"]

TASKS = by_task_name(tasks)


def drive(args: DriveArgs) -> DriveReport:
    consumer = app.backend.result_consumer
    report = DriveReport()
    # Held until done: a collected AsyncResult unsubscribes its channel in __del__.
    in_flight: dict[str, AsyncResult] = {}
    plan = Plan(args)

    def on_ready(kicked_at: float, result: AsyncResult) -> None:
        report.settled(kicked_at, result.state == states.SUCCESS, plan.started)
        in_flight.pop(result.id, None)

    while not plan.timed_out():
        while plan.may_kick(report.kicked, len(in_flight)):
            kicked_at = time.perf_counter()
            name, kwargs = task_call(args, report.kicked)
            result = TASKS[name].apply_async(kwargs=kwargs)
            in_flight[result.id] = result
            report.kicked += 1
            result.then(lambda ready, at=kicked_at: on_ready(at, ready))
        plan.announce_when_kicked(report.kicked)
        if not in_flight and not plan.may_kick(report.kicked, 0):
            break
        consumer.drain_events(timeout=0.2)
    report.wall_s = time.perf_counter() - plan.started
    return report


def main(argv: Sequence[str] | None = None) -> None:
    emit(drive(parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
