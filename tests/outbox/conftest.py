"""Fixtures for the outbox tests: this test's engine, the test tables, a view of the stream."""

import json
from collections.abc import AsyncIterator
from typing import cast

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.settings import Settings

# A Redis server of the test's own, which it can stop (test_imports_outage.py).
from tests.delivery.test_redis_outage import own_redis  # noqa: F401
from tests.outbox.tasks_for_outbox import TABLES

TEST_TASKS = "tests.outbox.tasks_for_outbox"


def plain_dsn(settings: Settings) -> str:
    url = make_url(settings.database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def create_test_tables(settings: Settings) -> None:
    conn = await asyncpg.connect(plain_dsn(settings))
    try:
        for statement in TABLES:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    await create_test_tables(settings)
    engine = create_async_engine(settings.database_url, pool_size=5, max_overflow=5)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def stream_task_ids(redis: Redis, settings: Settings, queue: str = "default") -> list[str]:
    """Task ids of the messages on a queue's stream, in stream order."""
    entries = cast(
        list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(settings.key("queue", queue))
    )
    return [json.loads(fields[b"data"])["task_id"] for _, fields in entries]
