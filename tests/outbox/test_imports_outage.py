"""`POST /imports` with Redis stopped for 30 s: every upload is answered 202, stored with its
kick in one transaction, and imported once Redis is back (the relay in the worker sends it)."""

import asyncio
import time

import httpx

from core.settings import Settings
from tests.conftest import StartProcess
from tests.delivery.throwaway_redis import ThrowawayRedis
from tests.outbox.test_crash_and_relays import query
from tests.support.http import orders_csv
from tests.support.processes import free_port, wait_until

IMPORTS = 1000
OUTAGE_SECONDS = 30.0
POSTERS = 10


async def test_imports_posted_while_redis_is_down_all_run_after_it_returns(
    settings: Settings, own_redis: ThrowawayRedis, start: StartProcess
) -> None:
    port = free_port()
    env = {"REDIS_URL": own_redis.url, "DB_POOL_SIZE": "5", "DB_MAX_OVERFLOW": "5"}
    web = start("web", PORT=str(port), **env)
    start("worker", OUTBOX_RELAY_DELAY_SECONDS="1", **env)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:

        async def healthy() -> bool:
            assert web.popen.poll() is None, web.log()
            try:
                return (await http.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        deadline = time.monotonic() + 60
        while not await healthy():
            assert time.monotonic() < deadline, "web never healthy"
            await asyncio.sleep(0.2)

        own_redis.kill()
        down_at = time.monotonic()
        answers: list[int] = []

        async def poster(first: int) -> None:
            for n in range(first, IMPORTS, POSTERS):
                upload = orders_csv(1, prefix=f"outage-{n}-")
                answers.append((await http.post("/imports", content=upload)).status_code)

        await asyncio.gather(*(poster(first) for first in range(POSTERS)))
        assert answers == [202] * IMPORTS  # all answered while Redis was down
        posted_in = time.monotonic() - down_at
        print(f"{IMPORTS} imports posted in {posted_in:.1f}s with Redis down")
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - posted_in))
        unsent = await query(
            settings, "SELECT count(*) AS n FROM task_outbox WHERE sent_at IS NULL"
        )
        assert unsent[0]["n"] == IMPORTS  # waiting in the outbox, not failed
        own_redis.start()

    def all_succeeded() -> bool:
        rows = asyncio.run(query(settings, "SELECT status, count(*) AS n FROM imports GROUP BY 1"))
        counts = {row["status"]: row["n"] for row in rows}
        assert "failed" not in counts, counts
        return counts.get("succeeded") == IMPORTS

    await asyncio.to_thread(
        wait_until, all_succeeded, within=240, what="every import done", every=1
    )
    orders = await query(
        settings, "SELECT count(*) AS n FROM orders WHERE order_id LIKE 'outage-%'"
    )
    assert orders[0]["n"] == IMPORTS
