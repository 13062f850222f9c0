"""Poison messages: a message whose handling never completes, delivered over and over.

A message that kills its worker child (SIGKILL, OOM) or whose handling always fails outside
its task is never acknowledged, so it is reclaimed after every redelivery timeout, for ever,
and a child that dies on it takes every other message it holds along each time. Redis counts
deliveries for us: XREADGROUP delivers with a count of 1 and every XAUTOCLAIM adds one (our
heartbeat's `XCLAIM ... JUSTID` does not). The reclaimer reads the counts of the ids it just
claimed; the receiver dead-letters a message over `MAX_DELIVERIES` instead of running it.
"""

from redis.asyncio import Redis

from taskiq_durable.streams.ids import as_text


def poison_error(times_delivered: int, max_deliveries: int) -> str | None:
    """Why a delivery must not run again, or None when it may (`max_deliveries` 0: no cap)."""
    if max_deliveries == 0 or times_delivered <= max_deliveries:
        return None
    return (
        f"poison: delivered {times_delivered} times without completing"
        f" (MAX_DELIVERIES={max_deliveries})"
    )


async def delivery_counts(redis: Redis, stream: str, group: str, ids: list[str]) -> dict[str, int]:
    """Redis's delivery count of each pending id, in one round trip; ids no longer pending are
    left out."""
    if not ids:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for message_id in ids:
            pipe.xpending_range(stream, group, min=message_id, max=message_id, count=1)
        replies = await pipe.execute()
    return {
        as_text(entry["message_id"]): int(entry["times_delivered"])
        for reply in replies
        for entry in reply
    }
