"""Acknowledging one delivery: XACK, retried through a Redis outage, then off the in-flight list."""

import asyncio
import logging
import time

from redis.asyncio import Redis

from taskiq_durable.streams.inflight import Delivery, InFlight
from taskiq_durable.streams.reconnect import OUTAGE_ERRORS, Outage

logger = logging.getLogger(__name__)


class StreamAck:
    """The `ack` of an AckableMessage; also tells the receiver which delivery a message is.

    `redis` is the child's one client: building a `Redis` per ack cost more CPU than the XACK.
    """

    def __init__(
        self,
        redis: Redis,
        group: str,
        inflight: InFlight,
        delivery: Delivery,
        *,
        give_up_after: float,
    ) -> None:
        self.delivery = delivery
        self._redis = redis
        self._group = group
        self._inflight = inflight
        self._give_up_after = give_up_after

    async def __call__(self) -> None:
        """XACK; after `give_up_after` seconds of outage, leave the message to be redelivered."""
        outage = Outage(logger, f"ack of {self.delivery.message_id}")
        deadline = time.monotonic() + self._give_up_after
        try:
            while True:
                try:
                    await self._redis.xack(
                        self.delivery.stream, self._group, self.delivery.message_id
                    )
                    return
                except OUTAGE_ERRORS as exc:
                    if time.monotonic() > deadline:
                        logger.error("gave up acking %s: it will run again", self.delivery)
                        return
                    await asyncio.sleep(outage.failed(exc))
        finally:
            self.release()

    def release(self) -> None:
        """Stop heartbeating this delivery: acknowledged, or left for redelivery."""
        self._inflight.discard(self.delivery)
