"""The periodic upkeep of a stream, run by every worker child: trim acknowledged entries
(trim.py) and delete departed consumers (consumers.py). Both are idempotent, so several
children doing it at once is harmless."""

import asyncio
import logging

from redis.asyncio import Redis

from taskiq_durable.streams.consumers import prune_consumers
from taskiq_durable.streams.reconnect import OUTAGE_ERRORS, Outage
from taskiq_durable.streams.trim import trim_once

logger = logging.getLogger(__name__)


def departed_after(redelivery_timeout: float) -> int:
    """Milliseconds of silence after which an empty consumer counts as gone."""
    return int(10 * redelivery_timeout * 1000)


async def run_housekeeping(
    redis: Redis, stream: str, group: str, *, interval: float, redelivery_timeout: float
) -> None:
    outage = Outage(logger, "housekeeping")
    while True:
        await asyncio.sleep(interval)
        try:
            trimmed = await trim_once(redis, stream)
            pruned = await prune_consumers(
                redis, stream, group, min_idle_ms=departed_after(redelivery_timeout)
            )
        except OUTAGE_ERRORS as exc:
            outage.failed(exc)
        else:
            outage.succeeded()
            logger.debug("%s: trimmed %d entries, deleted %d consumers", stream, trimmed, pruned)
