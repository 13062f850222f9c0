"""Delayed delivery: retries, countdown/eta kicks and rate-limited starts, due to the second.

A delayed message waits in one Redis sorted set (score: due time, Unix seconds; member: a JSON
envelope with the target stream and the message). A poller in every worker child moves due
members into the stream with one Lua script (XADD + ZREM), so a message is always in the set or
in the stream, never neither, and several pollers never move it twice. It does not depend on the
scheduler: the poller sleeps until the next due time, at most `DELAYED_POLL_SECONDS`, and a
schedule made in the same child wakes it at once.

Kicking with a countdown goes through the stream: `later(task.kicker(), countdown=10).kiq(...)`
sets the `eta` label and the worker that receives the message early parks it here.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from taskiq import AsyncBroker, TaskiqMessage, TaskiqMiddleware
from taskiq.kicker import AsyncKicker
from taskiq.labels import prepare_label

from taskiq_durable.config import DurableConfig
from taskiq_durable.connections import create_redis, started

__all__ = ["ETA", "DelayedDelivery", "DueSet", "delayed_delivery", "later", "relabel"]

logger = logging.getLogger(__name__)

# Unix time before which the message must not start.
ETA = "eta"
BATCH = 100

# KEYS[1]: the due set; ARGV: now, batch. Returns the count moved and the next due score ('').
_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local envelope = cjson.decode(member)
  redis.call('XADD', envelope.stream, '*', 'data', envelope.data)
  redis.call('ZREM', KEYS[1], member)
end
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#due, head[2] or ''}
"""

K = TypeVar("K", bound=AsyncKicker[Any, Any])


def later(kicker: K, *, countdown: float | None = None, eta: datetime | None = None) -> K:
    """`kicker`, set to start no earlier than `countdown` seconds from now or at `eta`."""
    if (countdown is None) == (eta is None):
        raise ValueError("give exactly one of countdown and eta")
    if eta is not None:
        if eta.tzinfo is None:
            raise ValueError("eta must be a timezone-aware datetime")
        due = eta.timestamp()
    else:
        due = time.time() + float(countdown or 0.0)
    kicker.with_labels(**{ETA: due})
    return kicker


def relabel(
    message: TaskiqMessage, labels: Mapping[str, Any], *, drop: tuple[str, ...] = ()
) -> TaskiqMessage:
    """A copy of `message` with labels changed, re-typed as a kicker would type them."""
    merged = {k: v for k, v in message.labels.items() if k not in drop} | dict(labels)
    prepared = {name: prepare_label(value) for name, value in merged.items()}
    copy = message.model_copy(
        update={
            "labels": {name: value for name, (value, _) in prepared.items()},
            "labels_types": {name: kind for name, (_, kind) in prepared.items()},
        }
    )
    copy.parse_labels()
    return copy


class DueSet:
    """The sorted set of delayed messages; every operation is one atomic Redis call."""

    def __init__(self, redis: Redis, key: str) -> None:
        self._redis = redis
        self._key = key
        self._move = redis.register_script(_MOVE_DUE)

    async def add(self, stream: str, data: str, due: float) -> None:
        # The random id keeps two identical messages two members.
        envelope = {"id": uuid.uuid4().hex, "stream": stream, "data": data}
        await self._redis.zadd(self._key, {json.dumps(envelope): due})

    async def move_due(self, now: float) -> tuple[int, float | None]:
        """Move what is due at `now` into its stream; (count moved, next due time or None)."""
        moved, head = await self._move(keys=[self._key], args=[repr(now), BATCH])
        return int(moved), float(head) if head else None


class DelayedDelivery(TaskiqMiddleware):
    """The due set and its poller; the poller runs in worker children only."""

    def __init__(self, settings: DurableConfig, *, stream: str) -> None:
        super().__init__()
        self._settings = settings
        self._stream = stream
        self.key = settings.key("delayed")
        self._redis: Redis | None = None
        self._due: DueSet | None = None
        self._poller: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def redis(self) -> Redis:
        """This worker child's client for delivery bookkeeping (due set, rate limits)."""
        return started(self._redis, "delayed delivery (worker processes only)")

    async def startup(self) -> None:
        if not self.broker.is_worker_process:
            return
        # Its own client, not Resources': WORKER_SHUTDOWN closes those before middlewares stop.
        self._redis = create_redis(self._settings.redis_url)
        self._due = DueSet(self._redis, self.key)
        self._wake = asyncio.Event()  # bound to this child's loop
        self._poller = asyncio.create_task(self._poll(self._due), name="delayed-delivery-poller")

    async def shutdown(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = self._due = None

    async def schedule(self, message: TaskiqMessage, due: float) -> None:
        """Deliver `message` (with its `eta` label set to `due`) at Unix time `due`."""
        due_set = started(self._due, "delayed delivery (worker processes only)")
        parked = relabel(message, {ETA: due})
        stream = parked.labels.get("queue_name") or self._stream
        await due_set.add(stream, self.broker.formatter.dumps(parked).message.decode(), due)
        self._wake.set()

    async def _poll(self, due_set: DueSet) -> None:
        interval = self._settings.delayed_poll_seconds
        while True:
            self._wake.clear()  # before the look: a schedule made during it is not missed
            wait = interval
            try:
                moved, next_due = await due_set.move_due(time.time())
            except RedisError:
                logger.warning("delayed delivery: Redis unavailable, retrying", exc_info=True)
            else:
                if moved == BATCH:
                    continue
                if next_due is not None:
                    wait = min(interval, max(0.0, next_due - time.time()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()


def delayed_delivery(broker: AsyncBroker) -> DelayedDelivery:
    """The broker's `DelayedDelivery` middleware."""
    for middleware in broker.middlewares:
        if isinstance(middleware, DelayedDelivery):
            return middleware
    raise LookupError(
        "the broker has no DelayedDelivery middleware (build it with taskiq_durable.build_broker)"
    )
