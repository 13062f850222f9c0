"""Delayed delivery: retries, countdown/eta kicks and rate-limited starts, due to the second.

A delayed message waits in the due set of its target stream, a Redis sorted set named
`<stream>:delayed` (score: due time, Unix seconds; member: a JSON envelope with the stream and
the message). A poller in every worker child moves due members of its own stream's set into the
stream with one Lua script (XADD + ZREM) that declares both keys, so it is routable on a Redis
Cluster (a stream and its due set share the stream's hash tag, if it has one). A message is
always in the set or in the stream, never neither, and several pollers never move it twice. It
does not depend on the scheduler: the poller sleeps until the next due time, at most
`DELAYED_POLL_SECONDS`, and a schedule made in the same child wakes it at once.

Earlier versions kept one due set for every stream, `<prefix>:delayed`; pollers still move
what an older worker parked there into the per-stream sets (`adopt_legacy`), so an upgrade with
delayed messages in flight loses none.

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

__all__ = [
    "ETA",
    "DelayedDelivery",
    "DueSet",
    "adopt_legacy",
    "delayed_delivery",
    "due_set_key",
    "later",
    "relabel",
]

logger = logging.getLogger(__name__)

# Unix time before which the message must not start.
ETA = "eta"
BATCH = 100

# How often a poller looks for what a pre-upgrade worker left in the shared due set.
LEGACY_CHECK_SECONDS = 30.0

# KEYS[1]: the due set, KEYS[2]: its stream; ARGV: now, batch. Returns the count moved and the
# next due score ('').
_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local envelope = cjson.decode(member)
  redis.call('XADD', KEYS[2], '*', 'data', envelope.data)
  redis.call('ZREM', KEYS[1], member)
end
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#due, head[2] or ''}
"""

# KEYS[1]: the shared due set of older versions, KEYS[2]: the member's stream's due set;
# ARGV[1]: the member. 1 if this call moved it.
_ADOPT = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due then return 0 end
redis.call('ZADD', KEYS[2], due, ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
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


def wire_form(
    message: TaskiqMessage, labels: Mapping[str, Any], *, drop: tuple[str, ...] = ()
) -> TaskiqMessage:
    """A copy of `message` with labels changed, as a kicker sends it: every label a string
    with its type in `labels_types`. The one form a formatter may dump: a parsed `bytes`
    label (taskiq-pipelines' pipeline) dumped as is reaches the receiver as text its base64
    decoding refuses ("Invalid base64-encoded string")."""
    merged = {k: v for k, v in message.labels.items() if k not in drop} | dict(labels)
    prepared = {name: prepare_label(value) for name, value in merged.items()}
    return message.model_copy(
        update={
            "labels": {name: value for name, (value, _) in prepared.items()},
            "labels_types": {name: kind for name, (_, kind) in prepared.items()},
        }
    )


def relabel(
    message: TaskiqMessage, labels: Mapping[str, Any], *, drop: tuple[str, ...] = ()
) -> TaskiqMessage:
    """A copy of `message` with labels changed, re-typed as a kicker would type them and
    parsed back, as a worker reads them."""
    copy = wire_form(message, labels, drop=drop)
    copy.parse_labels()
    return copy


def due_set_key(stream: str) -> str:
    """The due set of `stream`: its name plus a suffix, so it shares the stream's hash tag."""
    return f"{stream}:delayed"


class DueSet:
    """The sorted set of one stream's delayed messages; every operation is one atomic call."""

    def __init__(self, redis: Redis, stream: str) -> None:
        self._redis = redis
        self._stream = stream
        self.key = due_set_key(stream)
        self._move = redis.register_script(_MOVE_DUE)

    async def add(self, data: str, due: float) -> None:
        # The random id keeps two identical messages two members; the stream is for inspect.
        envelope = {"id": uuid.uuid4().hex, "stream": self._stream, "data": data}
        await self._redis.zadd(self.key, {json.dumps(envelope): due})

    async def move_due(self, now: float) -> tuple[int, float | None]:
        """Move what is due at `now` into the stream; (count moved, next due time or None)."""
        moved, head = await self._move(keys=[self.key, self._stream], args=[repr(now), BATCH])
        return int(moved), float(head) if head else None


async def adopt_legacy(redis: Redis, legacy_key: str) -> int:
    """Move what the shared due set of older versions holds into the per-stream due sets.

    One script per member, moving it only if it is still in the shared set: a member is in one
    set or the other, and one a racing poller adopted (and maybe delivered) is not added again.
    Only single-Redis deployments ever had the shared set, so the two keys need no common slot.
    """
    adopt = redis.register_script(_ADOPT)
    adopted = 0
    while True:
        parked: list[Any] = await redis.zrange(legacy_key, 0, BATCH - 1)
        if not parked:
            return adopted
        for member in parked:
            target = due_set_key(json.loads(member)["stream"])
            adopted += int(await adopt(keys=[legacy_key, target], args=[member]))


class DelayedDelivery(TaskiqMiddleware):
    """The due set and its poller; the poller runs in worker children only."""

    def __init__(self, settings: DurableConfig, *, stream: str) -> None:
        super().__init__()
        self._settings = settings
        self._stream = stream
        self._legacy_key = settings.key("delayed")
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
        self._redis = create_redis(self._settings)
        self._due = DueSet(self._redis, self._stream)
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
        """Deliver `message` (with its `eta` label set to `due`) at Unix time `due`.

        It waits in its target stream's due set, moved by that stream's workers (only they
        could run it); this child's own poller wakes for its own stream."""
        own = started(self._due, "delayed delivery (worker processes only)")
        parked = wire_form(message, {ETA: due})
        stream = parked.labels.get("queue_name") or self._stream
        due_set = own if stream == self._stream else DueSet(self.redis, stream)
        await due_set.add(self.broker.formatter.dumps(parked).message.decode(), due)
        self._wake.set()

    async def _poll(self, due_set: DueSet) -> None:
        interval = self._settings.delayed_poll_seconds
        legacy_due = 0.0
        while True:
            self._wake.clear()  # before the look: a schedule made during it is not missed
            wait = interval
            try:
                if time.monotonic() >= legacy_due:
                    await adopt_legacy(self.redis, self._legacy_key)
                    legacy_due = time.monotonic() + LEGACY_CHECK_SECONDS
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
