"""Best-effort status notifications over Redis pub/sub.

The database is the truth; a notification only saves a listener a poll. Publishing is bounded by
a timeout and its failure is logged, never raised, so it can't fail the work it reports on.
"""

import asyncio
import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 1.0


async def publish(redis: Redis, channel: str, payload: dict[str, Any]) -> bool:
    """Publish `payload` as JSON; False (and a warning) when Redis is slow or down."""
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            await redis.publish(channel, json.dumps(payload, default=str))
    except (RedisError, OSError, TimeoutError) as exc:
        logger.warning("notification on %s not sent: %r", channel, exc)
        return False
    return True
