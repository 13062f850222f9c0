"""Embedded Valkey and PostgreSQL: free ports, real clients, data across restarts, clean stops."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from redis.asyncio import Redis

from deploy.embedded import EmbeddedServers, ServerError, ServerURLs, resolve_servers
from tests.deploy.process_tree import survivors, tree

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def servers(stack_dir: Path) -> Iterator[EmbeddedServers]:
    servers = EmbeddedServers(stack_dir)
    try:
        yield servers
    finally:
        servers.stop()


def port(url: str) -> int:
    value = urlsplit(url).port
    assert value is not None
    return value


async def connect_pg(urls: ServerURLs) -> asyncpg.Connection:
    return await asyncpg.connect(urls.database_url.replace("postgresql+asyncpg", "postgresql"))


async def test_servers_listen_on_free_ports_and_take_clients(
    servers: EmbeddedServers, stack_dir: Path
) -> None:
    urls = servers.start()

    pg_port, redis_port = port(urls.database_url), port(urls.redis_url)
    assert urls == ServerURLs(
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{pg_port}/stack",
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
    )
    assert {pg_port, redis_port}.isdisjoint({5432, 6379})
    assert json.loads((stack_dir / "ports.json").read_text()) == {
        "postgres": pg_port,
        "redis": redis_port,
    }
    conn = await connect_pg(urls)
    try:
        assert await conn.fetchval("SELECT current_database()") == "stack"
    finally:
        await conn.close()
    async with Redis.from_url(urls.redis_url) as redis:
        assert await redis.ping()


async def test_data_and_urls_survive_a_restart(servers: EmbeddedServers) -> None:
    urls = servers.start()
    conn = await connect_pg(urls)
    try:
        await conn.execute("CREATE TABLE kept (id int PRIMARY KEY, note text)")
        await conn.execute("INSERT INTO kept VALUES (1, 'before stop')")
    finally:
        await conn.close()
    async with Redis.from_url(urls.redis_url) as redis:
        await redis.set("kept", "before stop")
        await redis.xadd("kept-stream", {"n": "1"})

    servers.stop()
    assert servers.start() == urls

    conn = await connect_pg(urls)
    try:
        assert await conn.fetch("SELECT id, note FROM kept") == [(1, "before stop")]
    finally:
        await conn.close()
    async with Redis.from_url(urls.redis_url) as redis:
        assert await redis.get("kept") == b"before stop"
        assert await redis.xlen("kept-stream") == 1


def test_stop_leaves_no_process(servers: EmbeddedServers) -> None:
    servers.start()
    started = tree(*servers.pids)
    assert len(started) > len(servers.pids), "PostgreSQL runs helper processes"

    servers.stop()

    assert survivors(started) == []


def test_a_second_owner_of_the_folder_is_refused(servers: EmbeddedServers, stack_dir: Path) -> None:
    servers.start()

    with pytest.raises(ServerError, match="in use by another process"):
        EmbeddedServers(stack_dir).start()


def test_servers_of_a_killed_owner_are_replaced(servers: EmbeddedServers, stack_dir: Path) -> None:
    owner = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, sys; from pathlib import Path;"
            "from deploy.embedded import EmbeddedServers;"
            "servers = EmbeddedServers(Path(sys.argv[1])); servers.start();"
            "print(*servers.pids, flush=True); os.kill(os.getpid(), signal.SIGKILL)",
            str(stack_dir),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    orphans = tree(*map(int, owner.stdout.split()))
    assert orphans, owner.stderr

    servers.start()

    assert survivors(orphans) == []


def test_only_the_missing_server_is_embedded(stack_dir: Path) -> None:
    database_url = "postgresql+asyncpg://app@db.example:5432/app"

    urls, embedded = resolve_servers({"DATABASE_URL": database_url}, stack_dir, lambda _: False)
    assert embedded is not None
    try:
        assert urls.database_url == database_url
        assert urls.redis_url == embedded.redis_url
        assert len(embedded.pids) == 1
        with pytest.raises(ServerError, match="PostgreSQL is not running"):
            _ = embedded.database_url
    finally:
        embedded.stop()
