"""The one factory for a process's async resources.

Every process (a web server, each worker child, the scheduler) calls `open_resources` from its
own startup hook, on its own event loop. Nothing here runs at import time, so a forked or
spawned process never inherits a pool bound to another loop.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.settings import Settings


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    # Outgoing HTTP (the image pipeline's downloads): one connection pool per process.
    http: httpx.AsyncClient


def create_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
    )


T = TypeVar("T")


def started(resource: T | None, what: str) -> T:
    """`resource`, built by its process's startup hook; a clear error when used before it."""
    if resource is None:
        raise RuntimeError(f"{what} is used before its process's startup hook ran")
    return resource


def stale_connection_retry() -> Retry:
    """For redis-py pools: retry a command whose pooled connection died with a Redis restart.

    redis-py 8 connections do not retry at all, so the first command on each stale connection
    after a restart fails. Only broken connections are retried: a retried timeout could run a
    write such as XADD twice.
    """
    return Retry(ExponentialBackoff(cap=1.0, base=0.05), 3, (RedisConnectionError,))


def create_redis(settings: Settings) -> Redis:
    """A Redis client; its pool connects on first use, on the caller's loop."""
    return Redis.from_url(settings.redis_url, retry=stale_connection_retry())


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    engine = create_engine(settings)
    redis = create_redis(settings)
    http = httpx.AsyncClient(timeout=settings.http_timeout_seconds, follow_redirects=True)
    try:
        yield Resources(
            settings=settings,
            engine=engine,
            sessionmaker=async_sessionmaker(engine, expire_on_commit=False),
            redis=redis,
            http=http,
        )
    finally:
        await http.aclose()
        await redis.aclose()
        await engine.dispose()
