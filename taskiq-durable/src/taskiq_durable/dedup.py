"""Enqueue-side deduplication: the same logical job kicked twice within a window runs once.

    enqueued = await kiq_once(redis, settings.key("dedup", f"import:{upload_sha}"), 600,
                              run_import_task.kicker(), import_id)
    enqueued.task_id   # the first caller's task id, for every caller inside the window

One Redis call claims the key for a fresh task id (SET NX PX) or returns the id that holds it,
so concurrent callers agree on one id. The claim is released if the kick itself fails, so a
failed enqueue does not block the job for the rest of the window. This guards the producer;
the task must still be idempotent (at-least-once delivery can run it twice).
"""

from dataclasses import dataclass
from typing import Any, ParamSpec

from redis.asyncio import Redis
from taskiq import AsyncTaskiqTask
from taskiq.kicker import AsyncKicker

__all__ = ["Enqueued", "kiq_once"]

P = ParamSpec("P")

# KEYS[1]: the dedup key; ARGV: candidate task id, window in ms. Returns the id holding the key.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return ARGV[1] end
return redis.call('GET', KEYS[1])
"""
# Release only our own claim: after the window another caller may hold the key.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Enqueued:
    task: AsyncTaskiqTask[Any]
    first: bool  # False: a caller inside the window enqueued it already

    @property
    def task_id(self) -> str:
        return self.task.task_id


async def kiq_once(
    redis: Redis,
    key: str,
    window: float,
    kicker: AsyncKicker[P, Any],
    *args: P.args,
    **kwargs: P.kwargs,
) -> Enqueued:
    """Kick unless `key` was kicked in the last `window` seconds; either way, the task id."""
    if window <= 0:
        raise ValueError("the deduplication window must be positive")
    candidate = kicker.custom_task_id or kicker.broker.id_generator()
    holder = await redis.eval(_CLAIM, 1, key, candidate, max(1, round(window * 1000)))
    holder = holder.decode() if isinstance(holder, bytes) else str(holder)
    if holder != candidate:
        return Enqueued(AsyncTaskiqTask(holder, kicker.broker.result_backend), first=False)
    try:
        task = await kicker.with_task_id(candidate).kiq(*args, **kwargs)
    except BaseException:
        await redis.eval(_RELEASE, 1, key, candidate)
        raise
    return Enqueued(task, first=True)
