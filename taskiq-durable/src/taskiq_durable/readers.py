"""Who reads a queue, and a warning when a kick lands on a queue nobody reads.

Every worker child announces that it reads its queue: a sorted set per queue,
`config.key("readers", queue)`, one member per child (its consumer name), scored with the
Redis server's clock (so hosts need not agree on the time), refreshed three times per
redelivery timeout and removed when the child stops. A reader is live while its score is
younger than the redelivery timeout: the age at which reclaim, too, counts a child as dead.

The consumer group can't tell this by itself: exited children stay in it until housekeeping
deletes them, and before Redis 7.2 a consumer's XINFO `idle` grows while it blocks on an empty
stream, so a live but idle worker looks exactly like a dead one.

A kick to a configured queue with no live reader is accepted (a worker may be starting, and
the message waits for it), but never silently: `UnreadQueues` logs a warning, at most once per
queue per `WARN_SECONDS`, and asks Redis at most once per queue per `CHECK_SECONDS`, so nearly
every kick pays no round trip.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from taskiq_durable.config import DurableConfig
from taskiq_durable.streams.config import heartbeat_interval
from taskiq_durable.streams.reconnect import OUTAGE_ERRORS, Outage

__all__ = ["ReaderPresence", "UnreadQueues", "live_readers", "readers_key"]

logger = logging.getLogger(__name__)

CHECK_SECONDS = 10.0
WARN_SECONDS = 60.0

# Milliseconds on the server's clock, the same for every host.
_NOW_MS = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)"
# KEYS[1]: the readers set; ARGV: member, liveness in ms. Drops the dead, expires with the last.
_ANNOUNCE = f"""{_NOW_MS}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
# KEYS[1]: the readers set; ARGV[1]: liveness in ms.
_COUNT_LIVE = f"""{_NOW_MS}
return redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
"""


def readers_key(config: DurableConfig, queue: str) -> str:
    return config.key("readers", queue)


def _liveness_ms(config: DurableConfig) -> int:
    return max(1, round(config.redelivery_timeout_seconds * 1000))


async def live_readers(redis: Redis, config: DurableConfig, queue: str) -> int:
    """Worker children that announced reading `queue` within the redelivery timeout."""
    count = await redis.eval(_COUNT_LIVE, 1, readers_key(config, queue), _liveness_ms(config))
    return int(count)


class ReaderPresence:
    """A worker child's announcement that it reads `config.worker_queue`, until it stops."""

    def __init__(self, config: DurableConfig, member: str) -> None:
        self._config = config
        self._key = readers_key(config, config.worker_queue)
        self._member = member
        self._task: asyncio.Task[None] | None = None

    async def start(self, redis: Redis) -> None:
        """Announce now (a kick right after startup must see this reader), then keep at it."""
        with contextlib.suppress(*OUTAGE_ERRORS):  # the loop retries, and says so
            await self.announce(redis)
        self._task = asyncio.create_task(self._run(redis))

    async def stop(self, redis: Redis) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Gone at once, not a redelivery timeout later; if Redis is away, the score ages out.
        with contextlib.suppress(*OUTAGE_ERRORS):
            await redis.zrem(self._key, self._member)

    async def announce(self, redis: Redis) -> None:
        """Say once that this child reads its queue: live for a redelivery timeout."""
        await redis.eval(_ANNOUNCE, 1, self._key, self._member, _liveness_ms(self._config))

    async def _run(self, redis: Redis) -> None:
        outage = Outage(logger, "reader presence")
        interval = heartbeat_interval(self._config.redelivery_timeout_seconds)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.announce(redis)
            except OUTAGE_ERRORS as exc:
                outage.failed(exc)
            else:
                outage.succeeded()


@dataclass(slots=True)
class _Queue:
    checked_at: float
    read: bool
    warned_at: float | None = None


class UnreadQueues:
    """Warns when a kick goes to a queue no live worker reads; one per sending process."""

    def __init__(
        self,
        config: DurableConfig,
        *,
        check_seconds: float = CHECK_SECONDS,
        warn_seconds: float = WARN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._check_seconds = check_seconds
        self._warn_seconds = warn_seconds
        self._clock = clock
        self._queues: dict[str, _Queue] = {}

    async def kicked(self, redis: Redis, queue: str, stream: str) -> None:
        """A message was just sent to `queue`, whose stream is `stream`."""
        now = self._clock()
        known = self._queues.get(queue)
        if known is None or now - known.checked_at >= self._check_seconds:
            # Claimed before the round trip: kicks meanwhile use what is known, or skip.
            if known is None:
                known = self._queues[queue] = _Queue(checked_at=now, read=True)
            known.checked_at = now
            try:
                known.read = await live_readers(redis, self._config, queue) > 0
            except RedisError:
                return  # the kick itself reached Redis; a failed look proves nothing
        if known.read or (
            known.warned_at is not None and now - known.warned_at < self._warn_seconds
        ):
            return
        known.warned_at = now
        logger.warning(
            "no live worker reads queue %r (stream %s): its messages wait until one does;"
            " start a worker whose worker_queue is %r",
            queue,
            stream,
            queue,
        )
