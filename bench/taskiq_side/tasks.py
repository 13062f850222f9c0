"""The bench tasks on the stack's real broker, run by the real `taskiq worker`.

W3, W3b and W5 write through the session the stack injects (`tasks.deps.Session`: one pooled
session per task, committed when the task returns), as the stack's own tasks do.
"""

import asyncio
import os
import time

from sqlalchemy import insert
from taskiq import TaskiqDepends

from bench import schema
from bench.schema import ticks
from bench.taskiq_side import TICK_RUN_ID_ENV
from tasks.broker import broker
from tasks.deps import Session

__all__ = ["TICK_RUN_ID_ENV", "insert_row", "insert_rows", "noop", "sleep", "tick"]

STACK = "taskiq"


@broker.task(task_name="bench.noop")
async def noop() -> None:
    return None


@broker.task(task_name="bench.sleep")
async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@broker.task(task_name="bench.insert_row")
async def insert_row(run_id: str, seq: int, session: Session = TaskiqDepends()) -> None:
    await session.execute(schema.insert_row(STACK, run_id, seq))


# The write-heavy pattern (docs/patterns/write-heavy.md): one task, one transaction, many rows.
@broker.task(task_name="bench.insert_rows")
async def insert_rows(
    run_id: str, first: int, count: int, session: Session = TaskiqDepends()
) -> None:
    await session.execute(schema.insert_rows(STACK, run_id, first, count))


# W5: the per-second schedule, read by `taskiq scheduler` (LabelScheduleSource) only while the
# harness measures W5; the run id reaches the scheduler process through its environment.
@broker.task(
    task_name="bench.tick",
    schedule=[{"interval": 1, "args": [os.environ.get(TICK_RUN_ID_ENV, "unset")]}],
)
async def tick(run_id: str, session: Session = TaskiqDepends()) -> None:
    started_at = time.time()
    await session.execute(insert(ticks).values(stack=STACK, run_id=run_id, started_at=started_at))
