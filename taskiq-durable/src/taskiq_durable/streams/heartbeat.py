"""Keep in-flight messages claimed while they run, so no other worker takes them over.

taskiq-redis reclaims any pending message idle for `idle_timeout`, running or not: a task
longer than that runs twice. Re-claiming our own messages with `XCLAIM ... JUSTID` resets
their idle time without counting a delivery, so only a dead consumer's messages ever go idle,
and the redelivery timeout can be seconds instead of "longer than the slowest task".
"""

import asyncio
import logging

from redis.asyncio import Redis
from redis.typing import StreamIdT

from taskiq_durable.streams.inflight import InFlight
from taskiq_durable.streams.reconnect import OUTAGE_ERRORS, Outage

logger = logging.getLogger(__name__)


async def touch(redis: Redis, group: str, consumer: str, inflight: InFlight) -> int:
    """Reset the idle time of every message we hold; returns how many Redis still had pending."""
    touched = 0
    for stream, ids in inflight.ids_by_stream().items():
        # min-idle-time 0, no FORCE: ids already acknowledged are no longer pending and are
        # skipped by Redis, so a race with an ack does no harm.
        message_ids: list[StreamIdT] = list(ids)
        claimed = await redis.xclaim(stream, group, consumer, 0, message_ids, justid=True)
        touched += len(claimed)
    return touched


async def run_heartbeat(
    redis: Redis, group: str, consumer: str, inflight: InFlight, *, interval: float
) -> None:
    """Touch our in-flight messages every `interval` seconds until cancelled."""
    outage = Outage(logger, "heartbeat")
    while True:
        await asyncio.sleep(interval)
        try:
            await touch(redis, group, consumer, inflight)
        except OUTAGE_ERRORS as exc:
            outage.failed(exc)
        else:
            outage.succeeded()
