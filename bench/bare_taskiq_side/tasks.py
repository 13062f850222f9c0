"""`taskiq worker bench.bare_taskiq_side.tasks:broker`: bare TaskIQ 0.13, as its docs show it.

taskiq-redis's `RedisStreamBroker` with `RedisAsyncResultBackend` (results kept an hour, as the
stack's), taskiq's default JSON serializer, acknowledged when the result is saved (the worker's
default). No reclaim of a dead worker's messages before the idle timeout, no dead letters, no
revoke, no time limits: the comparison is what those cost. The database engine is built per
worker process on WORKER_STARTUP and a task gets a session from a `TaskiqDepends` generator,
as taskiq's docs on state and dependencies show.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import TaskiqDepends, TaskiqEvents, TaskiqState
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from bench import schema
from bench.peer_runtime import open_sessions, redis_url

__all__ = ["broker", "insert_row", "insert_rows", "noop", "sleep"]

STACK = "bare-taskiq"

broker = RedisStreamBroker(url=redis_url()).with_result_backend(
    RedisAsyncResultBackend(redis_url=redis_url(), result_ex_time=3600)
)


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def startup(state: TaskiqState) -> None:
    state.engine, state.sessions = open_sessions()


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def shutdown(state: TaskiqState) -> None:
    await state.engine.dispose()


async def open_session(state: TaskiqState = TaskiqDepends()) -> AsyncIterator[AsyncSession]:
    """One session per task, committed when the task returns."""
    async with state.sessions() as opened:
        yield opened
        await opened.commit()


Session = Annotated[AsyncSession, TaskiqDepends(open_session)]


@broker.task(task_name="bench.bare.noop")
async def noop() -> None:
    return None


@broker.task(task_name="bench.bare.sleep")
async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@broker.task(task_name="bench.bare.insert_row")
async def insert_row(run_id: str, seq: int, db: Session = TaskiqDepends()) -> None:
    await db.execute(schema.insert_row(STACK, run_id, seq))


@broker.task(task_name="bench.bare.insert_rows")
async def insert_rows(run_id: str, first: int, count: int, db: Session = TaskiqDepends()) -> None:
    await db.execute(schema.insert_rows(STACK, run_id, first, count))
