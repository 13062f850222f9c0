"""Tasks that exist only for the delivery tests, registered on the production broker.

Each records its runs in Redis (`runs`: name -> executions, `done`: name -> pid) so a test can
tell "ran once" from "ran twice" and see which worker child ran it.
"""

import asyncio
import os
import signal

from sqlalchemy import text
from taskiq import TaskiqDepends

from core.settings import Settings
from tasks.broker import broker
from tasks.deps import RedisClient, Session, StackSettings

# Memory a `touch(leak_mb=...)` keeps for the life of its worker child, on purpose.
_leaked: list[bytes] = []

EFFECTS_TABLE = "CREATE TABLE delivery_effects (n integer PRIMARY KEY, pid integer NOT NULL)"


def runs_key(settings: Settings) -> str:
    return settings.key("test", "runs")


def done_key(settings: Settings) -> str:
    return settings.key("test", "done")


@broker.task(task_name="tests.delivery.touch")
async def touch(
    name: str,
    seconds: float = 0.0,
    leak_mb: int = 0,
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> None:
    await redis.hincrby(runs_key(settings), name, 1)
    if leak_mb:
        _leaked.append(os.urandom(leak_mb * 1024 * 1024))  # random bytes: really resident
    await asyncio.sleep(seconds)
    await redis.hset(done_key(settings), name, os.getpid())


@broker.task(task_name="tests.delivery.record")
async def record(
    n: int,
    session: Session = TaskiqDepends(),
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> None:
    """The idempotent-consumer shape: the effect is keyed by `n`, so a redelivery is a no-op."""
    await redis.hincrby(runs_key(settings), str(n), 1)
    await session.execute(
        text("INSERT INTO delivery_effects (n, pid) VALUES (:n, :pid) ON CONFLICT DO NOTHING"),
        {"n": n, "pid": os.getpid()},
    )


@broker.task(task_name="tests.delivery.crash")
async def crash(
    name: str, redis: RedisClient = TaskiqDepends(), settings: StackSettings = TaskiqDepends()
) -> None:
    """A poison message: kills its own worker child every time it runs, as an OOM kill would."""
    await redis.hincrby(runs_key(settings), name, 1)
    os.kill(os.getpid(), signal.SIGKILL)
