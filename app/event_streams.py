"""What the web process's event streams share: one Redis subscription and a bound on their reads.

A stream per client must cost neither a database connection nor a Redis connection while it
waits: 200 open streams each holding a pooled connection took the web's pools from every other
route. So the process subscribes once, to a pattern, while at least one stream listens, and
hands each message to the streams of its channel; and the streams' own database reads (at the
start, and after a quiet period) take at most half the pool at once.

Built by the web's lifespan (it connects nothing until a stream listens); the subscription's
reader task lives only while some stream listens.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

__all__ = ["EventStreams"]

# Messages a slow stream may fall behind by; past that its oldest are dropped: each message is a
# whole status, so the newest is all a stream needs.
BACKLOG = 16
# After Redis fails, the reader subscribes again after this long; streams re-read the database
# meanwhile, so they stay right, only slower.
RESUBSCRIBE_SECONDS = 1.0
# How long a new stream waits for the shared subscription to be in place before its first read.
SUBSCRIBED_WAIT_SECONDS = 1.0


class EventStreams:
    def __init__(self, redis: Redis, pattern: str, *, concurrent_reads: int) -> None:
        self._redis = redis
        self._pattern = pattern
        self._listeners: dict[str, set[asyncio.Queue[bytes]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.reads = asyncio.Semaphore(max(1, concurrent_reads))

    @asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue[bytes]]:
        """A queue of the messages published on `channel` from now on (once subscribed: a
        message before that may be missed, hence the streams' periodic re-read)."""
        queue: asyncio.Queue[bytes] = asyncio.Queue(BACKLOG)
        self._listeners.setdefault(channel, set()).add(queue)
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name="event-streams-reader")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SUBSCRIBED_WAIT_SECONDS):
                await self._subscribed.wait()
        try:
            yield queue
        finally:
            listeners = self._listeners[channel]
            listeners.discard(queue)
            if not listeners:
                del self._listeners[channel]
            if not self._listeners:
                await self.close()

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._subscribed.clear()

    async def _read(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(self._pattern)
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        self._dispatch(message["channel"], message["data"])
            except (RedisError, OSError) as exc:
                logger.warning("event streams' subscription lost, resubscribing: %r", exc)
            finally:
                self._subscribed.clear()
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(RESUBSCRIBE_SECONDS)

    def _dispatch(self, channel: bytes | str, data: bytes) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        for queue in self._listeners.get(name, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(data)
