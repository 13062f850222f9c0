"""Our Redis stream broker: taskiq-redis's RedisStreamBroker with delivery we can rely on.

What it changes (docs/delivery.md has the why of each):
- orphans of a dead consumer are reclaimed on a timer, not only when new traffic arrives;
- messages being run are heartbeated, so a long task is never handed to a second worker;
- reclaimed messages carry their delivery count, so the receiver can dead-letter a poison
  message instead of running it for ever;
- one child fetches at most what it can run (its receiver's limit, `hold_at_most`, minus what
  it holds), and gives back what it fetched but will not run, at once, when it stops;
- a Redis outage pauses `listen()` (bounded backoff, one log line) instead of killing the child;
- acknowledged entries are trimmed, never undelivered or pending ones;
- a child recycles itself after N tasks or past a memory limit.
"""

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import AsyncGenerator
from typing import cast

from redis.asyncio import Redis, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from taskiq import AckableMessage, BrokerMessage
from taskiq_redis import RedisStreamBroker

from taskiq_durable.connections import stale_connection_retry, started
from taskiq_durable.fatal import stop_worker
from taskiq_durable.streams.ack import StreamAck
from taskiq_durable.streams.config import DeliveryConfig
from taskiq_durable.streams.handback import hand_back
from taskiq_durable.streams.heartbeat import run_heartbeat
from taskiq_durable.streams.housekeeping import run_housekeeping
from taskiq_durable.streams.ids import as_text
from taskiq_durable.streams.inflight import Delivery, InFlight
from taskiq_durable.streams.preconditions import require_stream_receiver, require_uvloop
from taskiq_durable.streams.reclaim import Reclaimer
from taskiq_durable.streams.reconnect import OUTAGE_ERRORS, Outage
from taskiq_durable.streams.recycle import RecyclePolicy, current_rss

logger = logging.getLogger(__name__)


# How long a kick waits for its replicas (REDIS_KICK_REPLICAS) before it fails.
KICK_REPLICA_TIMEOUT_MS = 2000


class KickNotReplicated(RedisConnectionError):
    """The message is on the master but not on enough replicas: a failover could lose it.
    A connection error, so callers treat it as the Redis outage it is part of."""


def consumer_name() -> str:
    """Unique per process, and readable in XINFO CONSUMERS: which host and pid holds what."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class StreamBroker(RedisStreamBroker):
    def __init__(
        self, url: str, *, queue_name: str, consumer_group_name: str, delivery: DeliveryConfig
    ) -> None:
        super().__init__(
            url,
            queue_name=queue_name,
            consumer_group_name=consumer_group_name,
            # "0", not "$": the group is created by whichever process starts first, and a
            # message kicked by the web before any worker ever ran must still be delivered.
            consumer_id="0",
            xread_block=delivery.read_block_ms,
            maxlen=None,  # trimmed by id instead, see taskiq_durable/streams/trim.py
            idle_timeout=delivery.redelivery_timeout_ms,
            xread_count=None,  # each read is sized by `_fetch`
            retry=stale_connection_retry(),
        )
        self.delivery = delivery
        # Messages one worker child holds at once (running + fetched), set by its receiver.
        self._capacity: int | None = None
        self._inflight = InFlight()
        self._recycle = RecyclePolicy(delivery.max_tasks_per_child, delivery.max_memory_mb)
        self._fetched = 0
        self._background: list[asyncio.Task[None]] = []
        # A worker child's one client on the broker's pool (listen, acks, background loops),
        # built in startup on the child's loop.
        self._client: Redis | None = None

    @property
    def capacity(self) -> int | None:
        """Messages a worker child holds at most, once its receiver has said (`hold_at_most`)."""
        return self._capacity

    def hold_at_most(self, messages: int) -> None:
        """Fetch no more than `messages` at once: the receiver's limit (StreamReceiver)."""
        if messages < 1:
            raise ValueError(f"a worker child must hold at least one message, not {messages}")
        self._capacity = messages

    @property
    def _redis(self) -> Redis:
        return started(self._client, "the stream broker's worker client")

    async def startup(self) -> None:
        if self.is_worker_process:
            require_uvloop()
            require_stream_receiver(self.state)
            if self._capacity is None:
                raise stop_worker(
                    "the stream broker fetches at most what a child runs: start `taskiq worker`"
                    " with --max-async-tasks N (N > 0)"
                )
            self.consumer_name = consumer_name()
        await super().startup()
        if self.is_worker_process:
            self._client = redis = Redis(connection_pool=self.connection_pool)
            self._background = [
                asyncio.create_task(
                    run_heartbeat(
                        redis,
                        self.consumer_group_name,
                        self.consumer_name,
                        self._inflight,
                        interval=self.delivery.heartbeat_interval,
                    )
                ),
                asyncio.create_task(
                    run_housekeeping(
                        redis,
                        self.queue_name,
                        self.consumer_group_name,
                        interval=self.delivery.trim_interval,
                        redelivery_timeout=self.delivery.redelivery_timeout,
                    )
                ),
            ]

    async def shutdown(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background = []
        # Whatever is still held was never started or outlived the drain: a live worker runs it.
        await self._give_back(self._inflight.deliveries())
        await super().shutdown()

    async def kick(self, message: BrokerMessage) -> None:
        """XADD the message; with `kick_replicas`, return only once that many replicas have it.

        WAIT counts the writes of its own connection, so both go in one pipeline."""
        stream = message.labels.get("queue_name") or self.queue_name
        redis = Redis(connection_pool=self.connection_pool)
        async with redis, redis.pipeline(transaction=False) as pipe:
            pipe.xadd(stream, {b"data": message.message})
            if self.delivery.kick_replicas:
                pipe.wait(self.delivery.kick_replicas, KICK_REPLICA_TIMEOUT_MS)
            replies = await pipe.execute()
        if self.delivery.kick_replicas and replies[1] < self.delivery.kick_replicas:
            raise KickNotReplicated(
                f"{message.task_name} ({message.task_id}) reached {replies[1]} of"
                f" {self.delivery.kick_replicas} Redis replicas within"
                f" {KICK_REPLICA_TIMEOUT_MS} ms: it may be lost in a failover; kick it again"
                " (a redelivery is harmless, delivery is at least once)"
            )

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        redis = self._redis
        reclaimer = Reclaimer(
            self.queue_name,
            self.consumer_group_name,
            min_idle_ms=self.delivery.redelivery_timeout_ms,
            interval=self.delivery.reclaim_interval,
        )
        outage = Outage(logger, "listen")
        fetched: deque[Delivery] = deque()
        try:
            while True:
                rss = current_rss() if self._recycle.max_memory_mb else 0
                reason = self._recycle.reason(fetched=self._fetched, rss_bytes=rss)
                if reason is not None:
                    logger.warning("recycling worker child %d: %s", os.getpid(), reason)
                    return
                if not fetched:
                    fetched.extend(await self._fetch(redis, reclaimer, outage))
                delivery = fetched.popleft()
                self._fetched += 1
                ack = StreamAck(
                    redis,
                    self.consumer_group_name,
                    self._inflight,
                    delivery,
                    give_up_after=self.delivery.redelivery_timeout,
                )
                yield AckableMessage(data=delivery.data, ack=ack)
        finally:
            # Fetched but not handed to the receiver: back to the queue now, not after a timeout.
            await self._give_back(list(fetched))

    async def _fetch(self, redis: Redis, reclaimer: Reclaimer, outage: Outage) -> list[Delivery]:
        """The next deliveries for this consumer: orphans first, then new messages."""
        while True:
            # The receiver asks only when it has a free slot; all we hold is running or queued.
            count = max(1, started(self._capacity, "the receiver's limit") - len(self._inflight))
            try:
                deliveries = await reclaimer.claim(redis, self.consumer_name, count=count)
                if not deliveries:
                    deliveries = await self._read(redis, count, reclaimer.seconds_until_due())
            except ResponseError as exc:
                if not str(exc).startswith("NOGROUP"):
                    raise
                # The stream or group is gone (a Redis restarted without persistence).
                logger.warning("consumer group missing on %s; declaring it again", self.queue_name)
                await self._declare_group(redis)
                continue
            except OUTAGE_ERRORS as exc:
                await asyncio.sleep(outage.failed(exc))
                continue
            outage.succeeded()
            for delivery in deliveries:
                self._inflight.add(delivery)
            if deliveries:
                return deliveries

    async def _declare_group(self, redis: Redis) -> None:
        """The consumer group, as taskiq-redis's startup declares it (from the stream's start)."""
        try:
            await redis.xgroup_create(
                self.queue_name, self.consumer_group_name, id=self.consumer_id, mkstream=True
            )
        except ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):  # declared meanwhile by another child
                raise

    async def _read(self, redis: Redis, count: int, until_reclaim: float) -> list[Delivery]:
        block_ms = min(self.block, int(until_reclaim * 1000))
        response = await redis.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            {self.queue_name: ">"},
            count=count,
            # BLOCK 0 would wait forever; a reclaim that is due gets a non-blocking read.
            block=block_ms if block_ms > 0 else None,
        )
        # redis-py types the parsed reply loosely; with RESP2 it is [[stream, [(id, fields)]]].
        streams = cast(list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]], response or [])
        return [
            Delivery(as_text(stream), as_text(message_id), fields[b"data"])
            for stream, entries in streams
            for message_id, fields in entries
        ]

    async def _give_back(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        try:
            await hand_back(self._redis, self.consumer_group_name, deliveries)
        except OUTAGE_ERRORS as exc:
            logger.warning(
                "could not hand back %d messages (%r); redelivered after %.0fs instead",
                len(deliveries),
                exc,
                self.delivery.redelivery_timeout,
            )
            return
        for delivery in deliveries:
            self._inflight.discard(delivery)
        logger.info("handed back %d messages this child will not run", len(deliveries))
