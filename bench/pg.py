"""The bench database: created on demand, reset per run, read back to check every write."""

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bench.background import Background
from bench.schema import metadata, rows, ticks

__all__ = [
    "ConnectionSampler",
    "count_rows",
    "database_url",
    "prepare_database",
    "server_version",
    "tick_times",
]

HARNESS_APP = "bench-harness"


def database_url(server_url: str, database: str) -> str:
    """The server URL pointed at `database`, whatever database it named before."""
    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


def _engine(url: str) -> AsyncEngine:
    # Named, so the connection sampler leaves the harness's own connections out.
    return create_async_engine(
        url, connect_args={"server_settings": {"application_name": HARNESS_APP}}
    )


@asynccontextmanager
async def _connect(url: str, autocommit: bool = False) -> AsyncIterator[AsyncConnection]:
    engine = _engine(url)
    if autocommit:
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def _prepare(server_url: str, database: str) -> None:
    async with _connect(database_url(server_url, "postgres"), autocommit=True) as conn:
        exists = await conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        )
        if not exists:
            await conn.execute(text(f'CREATE DATABASE "{database}"'))
    async with _connect(database_url(server_url, database)) as conn:
        # Dropped, not truncated: a table from an older bench keeps an older shape.
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
        await conn.commit()


def prepare_database(server_url: str, database: str) -> None:
    asyncio.run(_prepare(server_url, database))


async def _count_rows(url: str, stack: str, run_id: str) -> tuple[int, int]:
    async with _connect(url) as conn:
        result = await conn.execute(
            select(func.count(), func.count(rows.c.seq.distinct())).where(
                rows.c.stack == stack, rows.c.run_id == run_id
            )
        )
        total, distinct = result.one()
        return int(total), int(distinct)


def count_rows(url: str, stack: str, run_id: str) -> tuple[int, int]:
    """(rows written, distinct task sequence numbers) for one stack's W3 run."""
    return asyncio.run(_count_rows(url, stack, run_id))


async def _tick_times(url: str, stack: str, run_id: str) -> list[float]:
    async with _connect(url) as conn:
        result = await conn.execute(
            select(ticks.c.started_at)
            .where(ticks.c.stack == stack, ticks.c.run_id == run_id)
            .order_by(ticks.c.started_at)
        )
        return [float(value) for value in result.scalars()]


def tick_times(url: str, stack: str, run_id: str) -> list[float]:
    return asyncio.run(_tick_times(url, stack, run_id))


async def _server_version(url: str) -> str:
    async with _connect(url) as conn:
        return str(await conn.scalar(text("SHOW server_version")))


def server_version(url: str) -> str:
    return asyncio.run(_server_version(url))


class ConnectionSampler(Background):
    """Peak count of a database's connections (the harness's own excluded)."""

    def __init__(self, url: str, every: float = 0.05) -> None:
        super().__init__()
        self.url = url
        self.every = every
        self.peak = 0

    async def _sample(self, stop: threading.Event) -> None:
        # Autocommit: inside one transaction pg_stat_activity is a snapshot that never changes.
        async with _connect(self.url, autocommit=True) as conn:
            while not stop.is_set():
                count = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = :db AND application_name <> :me"
                    ),
                    {"db": make_url(self.url).database, "me": HARNESS_APP},
                )
                self.peak = max(self.peak, int(count or 0))
                await asyncio.sleep(self.every)

    def run(self, stop: threading.Event) -> None:
        asyncio.run(self._sample(stop))
