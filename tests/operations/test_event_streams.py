"""Event streams hold no database connection while they wait (issue 15, item 8).

Before the fix each `GET /imports/{id}/events` kept its request's session open, idle in
transaction, for the stream's whole life: about 15 streams took the web pool and every other
request waited for it, then failed.
"""

import asyncio
import json

import asyncpg
import httpx
import psutil
import pytest
from sqlalchemy.engine import make_url

from core.settings import Settings
from tests.conftest import StartProcess
from tests.support.http import orders_csv
from tests.support.processes import StackProcess, free_port

STREAMS = 200
IMPORTS = 4
# Small batches make each import commit (and notify) often and run long enough to stay running
# while the streams are open.
ENV = {
    "DB_POOL_SIZE": "3",
    "DB_MAX_OVERFLOW": "2",
    # A request waiting for a pool connection fails after this: quickly, if the streams hold it.
    "DB_POOL_TIMEOUT": "2",
    "IMPORT_BATCH_SIZE": "20",
    "UPLOAD_MAX_BYTES": "20000000",
}


async def _idle_in_transaction(settings: Settings, process: StackProcess) -> int:
    """How many of `process`'s database connections are idle in a transaction."""
    pids = {process.popen.pid, *(child.pid for child in process.children())}
    ports = {
        conn.laddr.port
        for pid in pids
        for conn in psutil.Process(pid).net_connections("tcp")
        if conn.raddr and conn.raddr.port == (make_url(settings.database_url).port or 5432)
    }
    url = make_url(settings.database_url)
    conn = await asyncpg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        idle = await conn.fetch(
            "SELECT client_port FROM pg_stat_activity"
            " WHERE datname = $1 AND state = 'idle in transaction'",
            url.database,
        )
    finally:
        await conn.close()
    return sum(row["client_port"] in ports for row in idle)


async def _follow(client: httpx.AsyncClient, import_id: str, seen: list[dict[str, object]]) -> int:
    async with client.stream("GET", f"/imports/{import_id}/events") as events:
        async for line in events.aiter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
        return events.status_code


@pytest.mark.e2e
async def test_200_event_streams_leave_the_pool_to_other_routes(
    start: StartProcess, settings: Settings
) -> None:
    port = free_port()
    web = start("web", PORT=str(port), **ENV)
    start("worker", WORKER_PROCESSES="1", **ENV)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits
    ) as client:
        for _ in range(600):
            try:
                if (await client.get("/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert web.popen.poll() is None, web.log()
            await asyncio.sleep(0.1)
        ids = []
        for i in range(IMPORTS):
            queued = await client.post("/imports", content=orders_csv(40_000, prefix=f"s{i}-"))
            assert queued.status_code == 202, queued.text
            ids.append(queued.json()["id"])

        seen: list[list[dict[str, object]]] = [[] for _ in range(STREAMS)]
        streams = [
            asyncio.create_task(_follow(client, ids[n % IMPORTS], seen[n])) for n in range(STREAMS)
        ]
        # Every stream has sent its first event: all 200 are open and waiting.
        for _ in range(300):
            if all(seen):
                break
            await asyncio.sleep(0.1)
        assert all(seen), f"{sum(map(bool, seen))} of {STREAMS} streams sent their first event"

        statuses: list[int] = []
        idle: list[int] = []
        for _ in range(20):
            for path in ("/health", f"/imports/{ids[0]}", "/imports/not-a-uuid"):
                statuses.append((await client.get(path)).status_code)
            idle.append(await _idle_in_transaction(settings, web))
            await asyncio.sleep(0.1)
        running = [
            (await client.get(f"/imports/{import_id}")).json()["status"] for import_id in ids
        ]
        still_open = sum(not stream.done() for stream in streams)

        assert [s for s in statuses if s >= 500] == []
        assert statuses[::3] == [200] * 20  # /health
        # The web's connections: the worker's batches may be caught between statements.
        assert idle == [0] * 20, idle
        assert "running" in running, running
        assert still_open > STREAMS // 2, still_open

        for stream in streams:
            stream.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        # Progress was streamed, not just the first status.
        assert max(len(events) for events in seen) > 1
