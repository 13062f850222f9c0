"""Give messages we fetched but will not run back to the queue, at once.

A pending message belongs to its consumer until someone claims it after the redelivery
timeout; Redis cannot un-deliver it, and there is no consumer to XCLAIM it to. So we copy it to
the end of its stream and acknowledge the original in one MULTI/EXEC: a live worker's blocked
XREADGROUP gets the copy immediately, and no crash in between can lose or double it.
"""

from redis.asyncio import Redis

from taskiq_durable.streams.inflight import Delivery


async def hand_back(redis: Redis, group: str, deliveries: list[Delivery]) -> None:
    if not deliveries:
        return
    async with redis.pipeline(transaction=True) as pipe:
        for delivery in deliveries:
            pipe.xadd(delivery.stream, {b"data": delivery.data})
            pipe.xack(delivery.stream, group, delivery.message_id)
        await pipe.execute()
