"""Two worker children, 200 DB-writing tasks kicked at once: every row, no loop or pool errors."""

import asyncio

import httpx
from sqlalchemy import func, select

from core.db.models import Import, ImportStatus, Order
from core.resources import open_resources
from core.settings import Settings
from tests.conftest import StartProcess
from tests.support.http import orders_csv, wait_healthy
from tests.support.processes import free_port, wait_until

TASKS = 200
ROWS_EACH = 5
PROCESS_ERRORS = (
    "attached to a different loop",
    "Event loop is closed",
    "QueuePool limit",
    "TimeoutError",
    "InterfaceError",
    "Traceback",
)


async def kick_all(base_url: str) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        answers = await asyncio.gather(
            *(
                client.post("/imports", content=orders_csv(ROWS_EACH, prefix=f"k{n}-"))
                for n in range(TASKS)
            )
        )
    return [answer.status_code for answer in answers]


async def count_rows(settings: Settings) -> tuple[int, int]:
    async with open_resources(settings) as resources, resources.sessionmaker() as session:
        succeeded = await session.scalar(
            select(func.count()).where(Import.status == ImportStatus.SUCCEEDED)
        )
        orders = await session.scalar(select(func.count()).select_from(Order))
        return succeeded or 0, orders or 0


def test_two_children_write_every_row_without_loop_errors(
    start: StartProcess, settings: Settings
) -> None:
    port = free_port()
    # Each child's pool is smaller than its concurrency: tasks queue on the pool, never fail.
    pools = {"DB_POOL_SIZE": "4", "DB_MAX_OVERFLOW": "2"}
    web = start("web", PORT=str(port), **pools)
    worker = start("worker", WORKER_PROCESSES="2", WORKER_CONCURRENCY="20", **pools)
    base_url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base_url) as client:
        wait_healthy(client, web)

    assert asyncio.run(kick_all(base_url)) == [202] * TASKS

    def all_written() -> bool:
        return asyncio.run(count_rows(settings)) == (TASKS, TASKS * ROWS_EACH)

    wait_until(all_written, within=180, what="200 imports written", every=1)
    log = worker.log()
    # Both children took a share: the test exercised two processes, two loops, two pools.
    assert "[worker-0] Executing task" in log
    assert "[worker-1] Executing task" in log
    for process in (web, worker):
        process.stop()
        found = [error for error in PROCESS_ERRORS if error in process.log()]
        assert found == [], f"{process.name} log:\n{process.log()[-5000:]}"
