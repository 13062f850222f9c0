"""`saq bench.saq_side.tasks.settings`: SAQ 0.26 as its README shows it.

A Redis queue (`Queue.from_url`'s, with redis-py 8's pool cap lifted), async functions taking
the context and keyword arguments, the worker settings dict with `concurrency` and the
`startup`/`shutdown` hooks, in which each worker process builds its database engine. JSON is
SAQ's own serializer. Installed without the hiredis extra its README suggests, so every stack
parses Redis replies with the same redis-py parser.
"""

import asyncio

from redis.asyncio import Redis
from saq.queue.redis import RedisQueue as Queue
from saq.types import Context, SettingsDict
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench import schema
from bench.peer_runtime import concurrency, open_sessions, redis_url, write

__all__ = ["insert_row", "insert_rows", "noop", "queue", "settings", "sleep"]

STACK = "saq"

# `Queue.from_url` with a pool as redis-py < 8 (which SAQ's `redis` extra pins) builds it: no
# cap. redis-py 8's default cap of 100 connections fails SAQ's jobs with MaxConnectionsError
# once a process runs more than a few dozen at a time.
queue = Queue(Redis.from_url(redis_url(), max_connections=2**31 - 1), name="bench")


class BenchContext(Context, total=False):
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


async def startup(ctx: BenchContext) -> None:
    ctx["engine"], ctx["sessions"] = open_sessions()


async def shutdown(ctx: BenchContext) -> None:
    await ctx["engine"].dispose()


async def noop(ctx: BenchContext) -> None:
    return None


async def sleep(ctx: BenchContext, *, seconds: float) -> None:
    await asyncio.sleep(seconds)


async def insert_row(ctx: BenchContext, *, run_id: str, seq: int) -> None:
    await write(ctx["sessions"], schema.insert_row(STACK, run_id, seq))


async def insert_rows(ctx: BenchContext, *, run_id: str, first: int, count: int) -> None:
    await write(ctx["sessions"], schema.insert_rows(STACK, run_id, first, count))


settings: SettingsDict[BenchContext] = {
    "queue": queue,
    "functions": [noop, sleep, insert_row, insert_rows],
    "concurrency": concurrency(),
    "startup": startup,
    "shutdown": shutdown,
}
