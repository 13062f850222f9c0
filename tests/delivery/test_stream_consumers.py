"""Departed consumers are deleted; a consumer holding messages never is."""

import pytest
from redis.asyncio import Redis
from taskiq_durable.streams.consumers import Consumer, departed, prune_consumers
from taskiq_durable.streams.housekeeping import departed_after

from core.settings import Settings


@pytest.mark.parametrize(
    ("consumer", "gone"),
    [
        (Consumer("a", pending=0, idle_ms=300_000), True),
        (Consumer("b", pending=0, idle_ms=299_999), False),  # silent, not long enough yet
        (Consumer("c", pending=1, idle_ms=10**9), False),  # holds a message: never deleted
        (Consumer("d", pending=0, idle_ms=0), False),
    ],
)
def test_departed(consumer: Consumer, gone: bool) -> None:
    assert departed([consumer], min_idle_ms=300_000) == ([consumer.name] if gone else [])


def test_departed_after_ten_redelivery_timeouts() -> None:
    assert departed_after(30.0) == 300_000


async def test_prune_keeps_consumers_that_hold_messages(
    settings: Settings, redis_client: Redis
) -> None:
    stream, group = settings.key("prune", "stream"), settings.key("prune", "group")
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    first = await redis_client.xadd(stream, {b"data": b"1"})
    await redis_client.xadd(stream, {b"data": b"2"})
    await redis_client.xreadgroup(group, "done", {stream: ">"}, count=1)
    await redis_client.xack(stream, group, first)
    await redis_client.xreadgroup(group, "holding", {stream: ">"}, count=1)

    assert await prune_consumers(redis_client, stream, group, min_idle_ms=0) == 1
    names = [info["name"] for info in await redis_client.xinfo_consumers(stream, group)]
    assert names == [b"holding"]
    assert (await redis_client.xpending(stream, group))["pending"] == 1
