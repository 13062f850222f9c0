"""What a peer's worker process builds in its own startup hook, and how its tasks write.

The peers (bare TaskIQ, SAQ, streaq) have no session story of their own; their documented way
to hold a resource is a startup hook per worker process (taskiq's WORKER_STARTUP, SAQ's
`startup`, streaq's `lifespan`), so each builds one engine there and a task opens a session
per write. The harness passes the servers and the slots through the environment.
"""

import os

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = [
    "CONCURRENCY_ENV",
    "DATABASE_URL_ENV",
    "MAX_OVERFLOW",
    "POOL_SIZE",
    "REDIS_URL_ENV",
    "concurrency",
    "open_sessions",
    "redis_url",
    "write",
]

REDIS_URL_ENV = "BENCH_PEER_REDIS_URL"
DATABASE_URL_ENV = "BENCH_PEER_DATABASE_URL"
CONCURRENCY_ENV = "BENCH_CONCURRENCY"


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is unset: the peers run under `python -m bench.run`")
    return value


def redis_url() -> str:
    return _required(REDIS_URL_ENV)


def concurrency() -> int:
    """Async slots per worker process: the same for every stack in a run."""
    return int(_required(CONCURRENCY_ENV))


# The stack's per-process pool (DB_POOL_SIZE + DB_MAX_OVERFLOW), so pools are not what differs.
# SQLAlchemy's default (5 + 10) closes an overflow connection at every check-in: with 200 tasks
# in flight most inserts then open a PostgreSQL connection of their own.
POOL_SIZE, MAX_OVERFLOW = 10, 5


def open_sessions() -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """One engine for this worker process."""
    engine = create_async_engine(
        _required(DATABASE_URL_ENV), pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW
    )
    return engine, async_sessionmaker(engine, expire_on_commit=False)


async def write(sessions: async_sessionmaker[AsyncSession], statement: Executable) -> None:
    """Run one statement in a transaction of its own."""
    async with sessions() as session:
        await session.execute(statement)
        await session.commit()
