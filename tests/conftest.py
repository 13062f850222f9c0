"""Fixtures on real servers: the configured ones, else local defaults, else embedded ones.

Isolation: each test gets its own PostgreSQL database (a copy of a migrated, seeded template)
and its own Redis key prefix, so tests never see each other's rows, streams or results.
"""

import asyncio
import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from sqlalchemy.engine import make_url
from taskiq import AsyncBroker

from core.settings import Settings
from deploy.release import release
from tests.support.processes import ROOT, StackProcess, procfile_commands, start_process
from tests.support.servers import TestServers, resolve_test_servers

BIN = Path(sys.executable).parent
# The control routes' credentials every stack process of a test gets (app/security.py); a test
# of the routes without them passes OPERATOR_TOKEN="" / VIEWER_TOKEN="" to `start`.
OPERATOR_TOKEN = f"test-operator-{secrets.token_hex(16)}"
VIEWER_TOKEN = f"test-viewer-{secrets.token_hex(16)}"


@pytest.fixture(scope="session")
def servers() -> Iterator[TestServers]:
    found = resolve_test_servers()
    try:
        yield found
    finally:
        found.close()


def _admin_dsn(database_url: str, database: str = "postgres") -> str:
    url = make_url(database_url).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


async def _admin(database_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(database_url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_database(servers: TestServers) -> Iterator[str]:
    """A database migrated and seeded once by the real release step; tests copy it."""
    name = f"stack_tpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(servers.database_url, f'CREATE DATABASE "{name}"'))
    url = make_url(servers.database_url).set(database=name).render_as_string(hide_password=False)
    release(Settings(database_url=url, redis_url=servers.redis_url))
    try:
        yield name
    finally:
        asyncio.run(_admin(servers.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(servers: TestServers, template_database: str) -> Iterator[Settings]:
    token = uuid.uuid4().hex[:12]
    name = f"stack_t_{token}"
    asyncio.run(
        _admin(servers.database_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    )
    url = make_url(servers.database_url).set(database=name).render_as_string(hide_password=False)
    settings = Settings(database_url=url, redis_url=servers.redis_url, redis_prefix=f"t{token}")
    try:
        yield settings
    finally:
        asyncio.run(_admin(servers.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        redis = SyncRedis.from_url(servers.redis_url)
        keys = list(redis.scan_iter(match=f"{settings.redis_prefix}:*", count=1000))
        if keys:
            redis.delete(*keys)
        redis.close()


def stack_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a stack process of this test runs with."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "WORKER_", "DB_"))
    }
    env |= {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_PREFIX": settings.redis_prefix,
        "SCHEMA_WAIT_SECONDS": "20",
        "PYTHONUNBUFFERED": "1",
        "OPERATOR_TOKEN": OPERATOR_TOKEN,
        "VIEWER_TOKEN": VIEWER_TOKEN,
    }
    return env | extra


@pytest.fixture
def operator_headers() -> dict[str, str]:
    """What a client of the control routes sends as an operator."""
    return {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture
def viewer_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {VIEWER_TOKEN}"}


async def run_module(settings: Settings, module: str, *args: str) -> tuple[int, bytes]:
    """Run `python -m module args...` as an operator would, with this test's settings."""
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=ROOT,
        env=stack_env(settings),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(cli.communicate(), timeout=60)
    return cli.returncode or 0, stdout


StartProcess = Callable[..., StackProcess]


@pytest.fixture
def start(settings: Settings, tmp_path: Path) -> Iterator[StartProcess]:
    """Start a Procfile entry (or any command) with this test's settings; stopped at teardown."""
    started: list[StackProcess] = []
    commands = procfile_commands()

    def _start(name: str, command: str | None = None, **env: str) -> StackProcess:
        process = start_process(
            name, command or commands[name], stack_env(settings, **env), tmp_path
        )
        started.append(process)
        return process

    yield _start
    for process in reversed(started):
        process.stop()


@pytest.fixture
async def client_broker(settings: Settings) -> AsyncIterator[AsyncBroker]:
    """The broker as the web process uses it (kicks, reads results), on this test's prefix."""
    from tasks.broker import build_stack_broker  # imported here: collecting tests builds no broker

    broker = build_stack_broker(settings)
    await broker.startup()
    try:
        yield broker
    finally:
        await broker.shutdown()


@pytest.fixture
async def redis_client(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    try:
        yield client
    finally:
        await client.aclose()
