"""Tasks that exist only for the queue tests; the workers import them next to tasks.registry."""

import asyncio
import time

from tasks.broker import broker


@broker.task(task_name="tests.queues.slow")
async def slow(seconds: float) -> None:
    await asyncio.sleep(seconds)


@broker.task(task_name="tests.queues.ping", queue="urgent")
async def ping() -> float:
    return time.time()
