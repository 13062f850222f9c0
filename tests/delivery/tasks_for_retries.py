"""Test-only tasks for retries, delayed delivery, dead letters and rate limits.

Each appends one JSON line per start to `settings.key("test", "starts", name)`: the wall time,
the retry count the task saw, and its delivery labels.
"""

import json
import time

from taskiq import Context, TaskiqDepends
from taskiq_durable.rate_limit import RATE_SLOT
from taskiq_durable.retry import Retries

from core.settings import Settings
from tasks.broker import broker
from tasks.deps import RedisClient, StackSettings


def starts_key(settings: Settings, name: str) -> str:
    return settings.key("test", "starts", name)


def fixed_key(settings: Settings, name: str) -> str:
    return settings.key("test", "fixed", name)


async def _stamp(redis: RedisClient, settings: Settings, name: str, context: Context) -> None:
    labels = context.message.labels
    start = {
        "t": time.time(),
        "retries": int(labels.get("retries", 0)),
        "eta": labels.get("eta"),
        "rate_slot": labels.get(RATE_SLOT),
    }
    await redis.rpush(starts_key(settings, name), json.dumps(start))


@broker.task(
    task_name="tests.delivery.flaky",
    max_attempts=4,
    retry_base=1.0,
    retry_cap=8.0,
    retry_jitter=False,
    types_of_exceptions=(ConnectionError,),
)
async def flaky(
    name: str,
    retry: Retries = TaskiqDepends(),
    context: Context = TaskiqDepends(),
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> str:
    """Fails with ConnectionError until `fixed_key` is set."""
    await _stamp(redis, settings, name, context)
    if await redis.get(fixed_key(settings, name)) is None:
        raise ConnectionError(f"{name}: attempt {retry.attempt} of {retry.max_attempts} fails")
    return f"{name} ok on attempt {retry.attempt}"


@broker.task(task_name="tests.delivery.stamp")
async def stamp(
    name: str,
    n: int = 0,
    context: Context = TaskiqDepends(),
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> int:
    await _stamp(redis, settings, name, context)
    return n


@broker.task(task_name="tests.delivery.limited", rate_limit="120/m")
async def limited(
    n: int,
    context: Context = TaskiqDepends(),
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> int:
    await _stamp(redis, settings, f"limited:{n}", context)
    return n
