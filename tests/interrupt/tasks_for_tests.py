"""Tasks that exist only for the time-limit and revoke tests, registered on the production broker.

Each writes what happened to it into the hash `events_key(settings)` (event name -> Unix time), so
a test can tell "never started" from "stopped" and when.
"""

import asyncio
import time

from taskiq import TaskiqDepends
from taskiq_durable.time_limits import SoftTimeLimitExceeded

from core.settings import Settings
from tasks.broker import broker
from tasks.deps import Cpu, RedisClient, StackSettings
from tests.interrupt.cpu_functions import spin, square

SOFT_LIMIT = 1.0
HARD_LIMIT = 3.0
CPU_HARD_LIMIT = 1.0


def events_key(settings: Settings) -> str:
    return settings.key("test", "interrupt")


async def _event(redis: RedisClient, settings: StackSettings, name: str) -> None:
    await redis.hset(events_key(settings), name, repr(time.time()))


@broker.task(task_name="tests.interrupt.sleep")
async def sleep(
    name: str,
    seconds: float,
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> str:
    await _event(redis, settings, f"started:{name}")
    try:
        await asyncio.sleep(seconds)
    finally:
        await _event(redis, settings, f"stopped:{name}")
    return name


@broker.task(
    task_name="tests.interrupt.slow_cleanup",
    soft_time_limit=SOFT_LIMIT,
    time_limit=HARD_LIMIT,
)
async def slow_cleanup(
    name: str, redis: RedisClient = TaskiqDepends(), settings: StackSettings = TaskiqDepends()
) -> None:
    await _event(redis, settings, f"started:{name}")
    try:
        await asyncio.sleep(60)
    except SoftTimeLimitExceeded:
        await _event(redis, settings, f"soft:{name}")
        await asyncio.sleep(0.2)  # cleanup that itself awaits
        await _event(redis, settings, f"cleaned:{name}")
        # ...and then overruns: the hard limit still applies.
        await asyncio.sleep(60)


@broker.task(task_name="tests.interrupt.cpu")
async def cpu_work(kind: str, cpu: Cpu = TaskiqDepends()) -> int | None:
    if kind == "spin":
        await cpu.run(spin, hard_limit=CPU_HARD_LIMIT)
        return None
    return await cpu.run(square, 7, hard_limit=CPU_HARD_LIMIT)
