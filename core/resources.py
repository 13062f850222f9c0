"""The one factory for a process's async resources.

Every process (a web server, each worker child, the scheduler) calls `open_resources` from its
own startup hook, on its own event loop. Nothing here runs at import time, so a forked or
spawned process never inherits a pool bound to another loop.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from taskiq_durable import connections

from core.net import create_http_client
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    # Outgoing HTTP (the image pipeline's downloads): one client per process, refusing private
    # addresses unless HTTP_ALLOW_PRIVATE (core/net.py).
    http: httpx.AsyncClient


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


# Behind a transaction pooler the next transaction may run on another server connection, or
# another client's: a cached statement would be missing there, and asyncpg's per-connection
# counter names (__asyncpg_stmt_1__...) would collide with another client's.
TRANSACTION_POOLER_ARGS = {
    "statement_cache_size": 0,  # asyncpg's own cache
    "prepared_statement_cache_size": 0,  # SQLAlchemy's asyncpg dialect's cache
    "prepared_statement_name_func": _unique_statement_name,
}


def create_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
        connect_args=TRANSACTION_POOLER_ARGS if settings.db_transaction_pooler else {},
    )


def create_redis(settings: Settings) -> Redis:
    """A Redis client; its pool connects on first use, on the caller's loop."""
    return connections.create_redis(settings.durable())


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    engine = create_engine(settings)
    redis = create_redis(settings)
    http = create_http_client(settings)
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
