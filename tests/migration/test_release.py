"""One-time work runs in the release step, once; per-process startup only waits for it."""

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from core.db.models import Currency
from core.db.schema import wait_for_schema
from core.resources import open_resources
from core.settings import Settings
from deploy.release import CURRENCIES, release
from tests.conftest import StartProcess
from tests.support import servers as support
from tests.support.processes import wait_until


async def _server_admin(database_url: str, statement: str) -> None:
    url = make_url(database_url).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def empty_database(servers: support.TestServers) -> Iterator[Settings]:
    """A database the release step never ran on, as on a first deploy."""
    name = f"stack_r_{uuid.uuid4().hex[:12]}"
    asyncio.run(_server_admin(servers.database_url, f'CREATE DATABASE "{name}"'))
    url = make_url(servers.database_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield Settings(database_url=url, redis_url=servers.redis_url, db_pool_size=1)
    finally:
        asyncio.run(
            _server_admin(servers.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


async def _currencies(settings: Settings) -> int:
    async with open_resources(settings) as resources, resources.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Currency)) or 0


def test_workers_wait_for_the_release_step_which_is_safe_to_repeat(
    empty_database: Settings,
) -> None:
    url = empty_database.database_url
    with pytest.raises(RuntimeError, match=r"schema not ready .* run `make release`"):
        asyncio.run(wait_for_schema(url, within=0.3, poll=0.1))

    release(empty_database)
    release(empty_database)  # a second deploy, or two release boxes: nothing changes

    asyncio.run(wait_for_schema(url, within=5))
    assert asyncio.run(_currencies(empty_database)) == len(CURRENCIES)


def test_a_worker_on_an_unmigrated_database_waits_then_stops_whole(
    empty_database: Settings, start: StartProcess
) -> None:
    worker = start("worker", DATABASE_URL=empty_database.database_url, SCHEMA_WAIT_SECONDS="3")
    wait_until(lambda: worker.popen.poll() is not None, within=90, what="the worker to stop")
    log = worker.log()
    assert "waiting for the release step: schema at nothing, head is" in log
    assert "stopping the worker: database schema not ready after 3s" in log
    assert "run `make release`" in log
