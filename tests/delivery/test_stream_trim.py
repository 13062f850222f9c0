"""Trimming on a real Redis: acknowledged entries go, a backlog and pending entries stay."""

from redis.asyncio import Redis
from taskiq_durable.streams.trim import trim_once

from core.settings import Settings


async def _stream_ids(redis: Redis, stream: str) -> list[object]:
    return [entry_id for entry_id, _ in await redis.xrange(stream) or []]


async def test_trim_keeps_backlog_and_pending_and_drops_acknowledged(
    settings: Settings, redis_client: Redis
) -> None:
    stream, group = settings.key("trim", "stream"), settings.key("trim", "group")
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    ids = [await redis_client.xadd(stream, {b"data": str(n).encode()}) for n in range(10)]

    assert await trim_once(redis_client, stream) == 0  # a backlog nobody read yet stays whole

    await redis_client.xreadgroup(group, "c1", {stream: ">"}, count=6)
    await redis_client.xack(stream, group, *ids[:3], ids[5])  # 3 and 4 stay pending
    assert await trim_once(redis_client, stream) == 3
    assert await _stream_ids(redis_client, stream) == ids[3:]

    await redis_client.xreadgroup(group, "c1", {stream: ">"}, count=10)
    await redis_client.xack(stream, group, *ids[3:])
    assert await trim_once(redis_client, stream) == 7
    assert await _stream_ids(redis_client, stream) == []
    # Trimming never touched the group's bookkeeping: nothing pending, nothing left to read.
    assert (await redis_client.xpending(stream, group))["pending"] == 0
    assert await redis_client.xreadgroup(group, "c1", {stream: ">"}, count=10) == []
