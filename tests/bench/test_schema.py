"""The batched-write pattern's statement on real PostgreSQL: at-least-once in, rows once out."""

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from bench import pg, schema
from tests.conftest import _admin
from tests.support import servers as support


@pytest.fixture
def bench_db(servers: support.TestServers) -> Iterator[str]:
    name = f"bench_schema_{uuid.uuid4().hex[:10]}"
    pg.prepare_database(servers.database_url, name)
    try:
        yield pg.database_url(servers.database_url, name)
    finally:
        asyncio.run(_admin(servers.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_a_redelivered_batch_writes_nothing_twice(bench_db: str) -> None:
    engine = create_async_engine(bench_db)
    try:
        async with engine.begin() as conn:
            await conn.execute(schema.insert_rows("taskiq", "run", 0, 100))
            # The same batch delivered again, then one overlapping its second half.
            await conn.execute(schema.insert_rows("taskiq", "run", 0, 100))
            await conn.execute(schema.insert_rows("taskiq", "run", 50, 100))
    finally:
        await engine.dispose()
    assert await asyncio.to_thread(pg.count_rows, bench_db, "taskiq", "run") == (150, 150)


async def test_a_duplicate_single_row_insert_is_refused(bench_db: str) -> None:
    # W3's one-row insert has no ON CONFLICT: a duplicate fails the task instead of hiding.
    engine = create_async_engine(bench_db)
    try:
        async with engine.begin() as conn:
            await conn.execute(schema.insert_row("celery", "run", 7))
        with pytest.raises(IntegrityError, match="bench_rows_once"):
            async with engine.begin() as conn:
                await conn.execute(schema.insert_row("celery", "run", 7))
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM bench_rows")) == 1
    finally:
        await engine.dispose()
