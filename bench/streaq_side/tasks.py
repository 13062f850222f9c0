"""`streaq run bench.streaq_side.tasks:worker`: streaq 7.2 as its docs show it.

One `Worker` on Redis streams with `concurrency` slots, tasks registered with `@worker.task()`,
and a `lifespan` in which each worker process builds its database engine (tasks read it from
`worker.context`). JSON instead of streaq's default pickle: nothing here unpickles what Redis
holds; an exception result is stored as its text.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from streaq import Worker

from bench import schema
from bench.peer_runtime import concurrency, open_sessions, redis_url, write

__all__ = ["insert_row", "insert_rows", "noop", "sleep", "worker"]

STACK = "streaq"


@dataclass(frozen=True, slots=True)
class Resources:
    sessions: async_sessionmaker[AsyncSession]


@asynccontextmanager
async def lifespan() -> AsyncIterator[Resources]:
    engine, sessions = open_sessions()
    try:
        yield Resources(sessions)
    finally:
        await engine.dispose()


worker = Worker(
    redis_url=redis_url(),
    queue_name="bench",
    concurrency=concurrency(),
    # default=str: a failed task's result is its exception, which JSON cannot hold; without it
    # streaq's worker dies storing the result of the first task that raised.
    serializer=partial(json.dumps, default=str),
    deserializer=json.loads,
    lifespan=lifespan,
)


@worker.task()
async def noop() -> None:
    return None


@worker.task()
async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@worker.task()
async def insert_row(run_id: str, seq: int) -> None:
    await write(worker.context.sessions, schema.insert_row(STACK, run_id, seq))


@worker.task()
async def insert_rows(run_id: str, first: int, count: int) -> None:
    await write(worker.context.sessions, schema.insert_rows(STACK, run_id, first, count))
