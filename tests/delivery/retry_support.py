"""Helpers for the retry, delayed-delivery and dead-letter tests."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from redis import Redis as SyncRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq_durable.dead_letters.sql import DeadLetterRow as DeadLetter

from core.resources import create_engine
from core.settings import Settings
from tests.delivery.conftest import worker_command
from tests.delivery.tasks_for_retries import starts_key

T = TypeVar("T")

WORKER_ENV = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2", "WORKER_CONCURRENCY": "8"}


def retry_worker_command() -> str:
    return worker_command().replace(
        "tests.delivery.tasks_for_tests",
        "tests.delivery.tasks_for_tests tests.delivery.tasks_for_retries",
    )


def starts(redis: SyncRedis, settings: Settings, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in redis.lrange(starts_key(settings, name), 0, -1)]


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 1}))
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


async def dead_letters(sessionmaker: async_sessionmaker[AsyncSession]) -> list[DeadLetter]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, within: float, what: str
) -> T:
    """Poll `probe` until `done(result)`; fail with `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}: {result!r}")
        await asyncio.sleep(0.1)
