"""Take over messages a dead consumer left pending, on a timer rather than on new traffic.

taskiq-redis runs XAUTOCLAIM only after XREADGROUP returned new messages, so a killed
worker's messages wait, on an idle queue, until someone kicks another task. Our listen loop
asks the reclaimer before every read and blocks its reads no longer than the reclaim
interval, so an idle worker reclaims within `redelivery_timeout + reclaim_interval`.
"""

import time

from redis.asyncio import Redis

from taskiq_durable.streams.ids import as_text
from taskiq_durable.streams.inflight import Delivery
from taskiq_durable.streams.poison import delivery_counts


class Reclaimer:
    def __init__(self, stream: str, group: str, *, min_idle_ms: int, interval: float) -> None:
        self._stream = stream
        self._group = group
        self._min_idle_ms = min_idle_ms
        self._interval = interval
        self._next_at = 0.0
        # XAUTOCLAIM scans the pending list like SCAN; resuming from its cursor means old
        # orphans behind a long run of busy (heartbeated) entries are reached too.
        self._cursor = "0-0"

    def seconds_until_due(self) -> float:
        return max(0.0, self._next_at - time.monotonic())

    async def claim(self, redis: Redis, consumer: str, *, count: int) -> list[Delivery]:
        """Claim up to `count` orphans for `consumer` if a reclaim is due, else nothing."""
        if self.seconds_until_due() > 0:
            return []
        cursor, entries, _deleted = await redis.xautoclaim(
            self._stream,
            self._group,
            consumer,
            self._min_idle_ms,
            start_id=self._cursor,
            count=count,
        )
        self._cursor = as_text(cursor)
        if self._cursor == "0-0":
            # A full pass found nothing more: rest until the next tick.
            self._next_at = time.monotonic() + self._interval
        # Entries trimmed while pending come back as deleted ids; Redis drops them itself.
        claimed = {
            as_text(message_id): fields[b"data"]
            for message_id, fields in entries
            if fields is not None
        }
        # The receiver turns a message delivered too often into a poison dead letter.
        counts = await delivery_counts(redis, self._stream, self._group, list(claimed))
        return [
            Delivery(self._stream, message_id, data, counts.get(message_id, 1))
            for message_id, data in claimed.items()
        ]
