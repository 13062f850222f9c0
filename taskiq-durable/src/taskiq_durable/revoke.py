"""Revoke a task by id, from any process: `await revoke(broker.results, settings, task_id)`.

A service's CLI calls `run_cli(config, argv)` (this repository's: `python -m tasks.revoke ID`).

A revoke, for a task that has not succeeded yet:

1. records `<prefix>:revoked:<task_id>` (TTL = `RESULT_TTL_SECONDS`) for status readers, and
   the id in the sorted set `<prefix>:revokes` (score: when it expires): every worker child
   loads that set when it subscribes and keeps it current from step 3, and checks it (in
   memory) before it starts a message, so a queued (or retried, or redelivered) copy never
   starts;
2. stores, through the result backend, a result for the id whose error is `TaskRevoked`,
   unless a result is already stored, so `wait_result()` answers at once;
3. publishes the id on `<prefix>:revoke`: every worker child cancels its running execution of
   it at its next `await`; that execution ends with `TaskRevoked` and its result says so too.

Reading the state: `await is_revoked(broker.results, settings, task_id)` is True once a revoke
is on record and the task did not succeed before it (the result backend parses the stored
result, whose error is a `TaskRevoked` again). A task that already succeeded is not revoked
(`revoke` returns False) and keeps its result.

`TaskRevoked` derives from `BaseException`, like `CancelledError`: `except Exception` in a task
does not swallow it, and retry and dead-letter middlewares must neither retry nor dead-letter it
(they see it as the `on_error` exception). A running sync task cannot be interrupted; it finishes.
"""

import argparse
import asyncio
import re
import sys
import time
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from taskiq import TaskiqResult
from taskiq.exceptions import SecurityError
from taskiq_redis.exceptions import ResultIsMissingError

from taskiq_durable.config import DurableConfig
from taskiq_durable.result_backend import ResultBackend

TASK_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,200}$"


class TaskRevoked(BaseException):  # a stop, not an error: like CancelledError
    """The task was revoked: it never started, or was cancelled while it ran."""

    def __init__(self, task_id: str) -> None:
        super().__init__(task_id)
        self.task_id = task_id

    def __str__(self) -> str:
        return f"task {self.task_id} was revoked"


def revoked_key(settings: DurableConfig, task_id: str) -> str:
    return settings.key("revoked", task_id)


def revoke_channel(settings: DurableConfig) -> str:
    return settings.key("revoke")


def revokes_key(settings: DurableConfig) -> str:
    """The sorted set of revoked ids, scored by when each revoke expires (Unix time)."""
    return settings.key("revokes")


async def active_revokes(redis: Redis, settings: DurableConfig) -> dict[str, float]:
    """Revoked ids that have not expired yet, with their expiry (Unix time)."""
    pairs = await redis.zrangebyscore(revokes_key(settings), time.time(), "+inf", withscores=True)
    return {
        member.decode(): float(score) for member, score in cast(list[tuple[bytes, float]], pairs)
    }


async def _stored(results: ResultBackend, task_id: str) -> TaskiqResult[Any] | None:
    """The stored result of `task_id`, read by the result backend; None if none can be read."""
    try:
        return await results.get_result(task_id)
    except ResultIsMissingError:
        return None
    except (ValueError, SecurityError):
        return None  # not a result this backend wrote (pydantic's ValidationError is a ValueError)


def revoked_result(task_id: str) -> TaskiqResult[None]:
    return TaskiqResult[None](
        is_err=True, return_value=None, execution_time=0.0, error=TaskRevoked(task_id)
    )


async def revoke(results: ResultBackend, settings: DurableConfig, task_id: str) -> bool:
    """Revoke `task_id` everywhere; False, recording nothing, if it already succeeded.

    `results` is the broker's started result backend (`DurableBroker.results`); the revoke's own
    keys go through its client too, into one transaction with the result it stores."""
    if not re.fullmatch(TASK_ID_PATTERN, task_id):
        raise ValueError(f"not a task id: {task_id!r}")
    stored = await _stored(results, task_id)
    if stored is not None and not stored.is_err:
        return False
    ttl = settings.result_ttl_seconds
    now = time.time()
    async with results.redis.pipeline(transaction=True) as pipe:
        pipe.set(revoked_key(settings, task_id), b"1", ex=ttl)
        results.set_result_in(pipe, task_id, revoked_result(task_id), unless_stored=True)
        pipe.zadd(revokes_key(settings), {task_id: now + ttl})
        pipe.zremrangebyscore(revokes_key(settings), "-inf", now)
        # After the key: a child that misses the message has already seen the key, or will.
        pipe.publish(revoke_channel(settings), task_id)
        await pipe.execute()
    return True


async def is_revoked(results: ResultBackend, settings: DurableConfig, task_id: str) -> bool:
    """True when `task_id` was revoked and did not succeed before the revoke."""
    stored = await _stored(results, task_id)
    if stored is not None:
        if isinstance(stored.error, TaskRevoked):
            return True
        if not stored.is_err:
            return False
    return bool(await results.redis.exists(revoked_key(settings, task_id)))


async def _revoke_all(settings: DurableConfig, task_ids: list[str]) -> int:
    results = ResultBackend.for_config(settings)
    await results.startup()
    status = 0
    try:
        for task_id in task_ids:
            if await revoke(results, settings, task_id):
                print(f"revoked {task_id}")
            else:
                print(f"{task_id} already succeeded: not revoked")
                status = 1
    finally:
        await results.shutdown()
    return status


def run_cli(config: DurableConfig, argv: list[str] | None = None, *, prog: str = "revoke") -> int:
    """The revoke command line: exit 0, 1 (one had already succeeded) or 2 (bad id, no Redis)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Revoke tasks: queued ones never start, running ones are cancelled.",
    )
    parser.add_argument("task_ids", nargs="+", metavar="TASK_ID")
    args = parser.parse_args(argv)
    for task_id in args.task_ids:
        if not re.fullmatch(TASK_ID_PATTERN, task_id):
            parser.error(f"not a task id: {task_id!r}")
    try:
        return asyncio.run(_revoke_all(config, args.task_ids))
    except (RedisError, OSError) as exc:
        print(f"cannot reach Redis: {exc}", file=sys.stderr)
        return 2
