"""Helpers for the Celery-pattern tests: a worker with the test tasks, waiting on Redis."""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from redis.asyncio import Redis

from core.settings import Settings
from tests.conftest import StartProcess
from tests.support.processes import StackProcess, procfile_commands

TEST_TASKS = "tests.patterns.tasks_for_tests"
SMALL_POOLS = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2", "WORKER_PROCESSES": "1"}


def start_worker(start: StartProcess, *, concurrency: int, **env: str) -> StackProcess:
    """The Procfile worker, one child, also importing the test-only tasks."""
    command = procfile_commands()["worker"].replace(
        "tasks.registry", f"tasks.registry {TEST_TASKS}"
    )
    return start("worker", command, WORKER_CONCURRENCY=str(concurrency), **(SMALL_POOLS | env))


async def until(
    condition: Callable[[], Awaitable[Any]], *, within: float, what: str, every: float = 0.1
) -> Any:
    """Await `condition` until it returns something truthy (returned); fail after `within` s."""
    deadline = time.monotonic() + within
    while not (value := await condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(every)
    return value


async def recorded(redis: Redis, settings: Settings, name: str) -> list[Any]:
    """What `test.record` & co. appended under `name`, in order."""
    return [json.loads(raw) for raw in await redis.lrange(settings.key("test", name), 0, -1)]


async def task_status(http: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    """`GET /tasks/{task_id}`'s body."""
    body: dict[str, Any] = (await http.get(f"/tasks/{task_id}")).json()
    return body


async def wait_for_web(http: httpx.AsyncClient, web: StackProcess, *, within: float) -> None:
    """Until the web process answers /health (failing at once if it exited)."""

    async def up() -> bool:
        assert web.popen.poll() is None, web.log()
        try:
            return (await http.get("/health")).status_code == 200
        except httpx.TransportError:
            return False

    await until(up, within=within, what="the web process")
