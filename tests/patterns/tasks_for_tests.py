"""Tasks that exist only for the pattern tests; the worker imports them next to tasks.registry.

`record` appends JSON to the Redis list `<prefix>:test:<name>`, so a test can see every run.
"""

import asyncio
import json
import os
from typing import Any

from taskiq import TaskiqDepends, TaskiqMessage
from taskiq.depends.progress_tracker import ProgressTracker
from taskiq_durable.canvas import chord as chord_module
from taskiq_durable.delayed import delayed_delivery
from taskiq_durable.durable_broker import durable_broker

from tasks.broker import broker
from tasks.deps import RedisClient, StackSettings

GATE_SECONDS = 60.0


async def _record(redis: RedisClient, settings: StackSettings, name: str, value: Any) -> None:
    await redis.rpush(settings.key("test", name), json.dumps(value))


@broker.task(task_name="test.add")
async def add(x: int, y: int) -> int:
    return x + y


@broker.task(task_name="test.mul")
async def mul(x: int, factor: int) -> int:
    return x * factor


@broker.task(task_name="test.fail")
async def fail(x: Any) -> None:
    raise ValueError(f"refusing {x!r}")


@broker.task(task_name="test.record")
async def record(
    value: Any,
    name: str,
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> Any:
    await _record(redis, settings, name, value)
    return value


@broker.task(task_name="test.quiet", ignore_result=True)
async def quiet(
    value: int, redis: RedisClient = TaskiqDepends(), settings: StackSettings = TaskiqDepends()
) -> int:
    await _record(redis, settings, "quiet", value)
    return value


@broker.task(task_name="test.sum_batch")
async def sum_batch(
    batch: list[int],
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> int:
    await _record(redis, settings, "batches", batch)
    return sum(batch)


@broker.task(task_name="test.gated", track_started=True)
async def gated(
    progress: ProgressTracker[dict[str, int]] = TaskiqDepends(),
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> str:
    """STARTED until the test opens gate 1, then PROGRESS {"step": 1} until it opens gate 2."""
    await _wait_key(redis, settings.key("test", "gate1"))
    await progress.set_progress("PROGRESS", {"step": 1})
    await _wait_key(redis, settings.key("test", "gate2"))
    return "through"


async def _wait_key(redis: RedisClient, key: str) -> None:
    """Until the test pushes to `key`; short BLPOPs stay under redis-py's socket timeout."""
    async with asyncio.timeout(GATE_SECONDS):
        while await redis.blpop([key], timeout=1) is None:
            pass


@broker.task(task_name="test.once_allowed", track_started=True)
async def once_allowed(
    name: str, redis: RedisClient = TaskiqDepends(), settings: StackSettings = TaskiqDepends()
) -> str:
    """Fails (not retried) until the test sets `<prefix>:test:<name>:allowed`; then waits for
    a push to `<prefix>:test:<name>:gate` and succeeds: a replay the test can watch."""
    if not await redis.exists(settings.key("test", name, "allowed")):
        raise ValueError(f"{name} is not allowed yet")
    await _wait_key(redis, settings.key("test", name, "gate"))
    return f"{name} ran"


@broker.task(
    task_name="test.flaky_mul",
    max_attempts=3,
    retry_base=0.05,
    retry_jitter=False,
    types_of_exceptions=(ConnectionError,),
)
async def flaky_mul(
    x: int,
    factor: int,
    name: str,
    fails: int,
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> int:
    """`x * factor` once it has failed `fails` times with a retryable error (counted per
    `name` in Redis, and recorded under `name`): a chain step that needs its retries."""
    attempt = await redis.incr(settings.key("test", name, "attempts"))
    await _record(redis, settings, name, attempt)
    if attempt <= fails:
        raise ConnectionError(f"{name}: attempt {attempt} fails")
    return x * factor


# A member labelled `test_fault_at=<point>` pauses, on its first run only, at that point of the
# chord completion path (taskiq_durable.canvas.chord.fault_hook) and says where and in which
# process under `<prefix>:test:paused`, for the test to SIGKILL it there.
FAULT_AT = "test_fault_at"


async def _pause_for_fault(point: str, message: TaskiqMessage) -> None:
    if message.labels.get(FAULT_AT) != point:
        return
    durable = durable_broker(broker)
    redis = delayed_delivery(durable).redis
    if not await redis.set(durable.config.key("test", "fault", message.task_id), 1, nx=True):
        return  # the redelivered run goes on
    await redis.rpush(
        durable.config.key("test", "paused"), json.dumps({"pid": os.getpid(), "point": point})
    )
    await asyncio.sleep(GATE_SECONDS)


chord_module.fault_hook = _pause_for_fault
