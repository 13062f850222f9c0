"""Enqueue-side deduplication: one message per key and window; every caller gets its id."""

import asyncio

import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker
from taskiq.exceptions import SendTaskError
from taskiq_durable.dedup import kiq_once

from core.settings import Settings
from tasks.broker import build_stack_broker
from tests.delivery.conftest import StreamView
from tests.delivery.tasks_for_retries import stamp


async def test_second_kick_in_window_gets_the_first_task_id(
    settings: Settings, client_broker: AsyncBroker, redis_client: Redis, stream: StreamView
) -> None:
    key = settings.key("dedup", "job-1")
    kicker = stamp.kicker().with_broker(client_broker)
    calls = await asyncio.gather(
        *(kiq_once(redis_client, key, 0.5, kicker, "job-1") for _ in range(5))
    )
    assert len({call.task_id for call in calls}) == 1
    assert sorted(call.first for call in calls) == [False] * 4 + [True]
    assert stream.length() == 1

    await asyncio.sleep(0.6)  # the window is a TTL: after it, the job may run again
    again = await kiq_once(redis_client, key, 0.5, stamp.kicker().with_broker(client_broker), "x")
    assert again.first
    assert again.task_id != calls[0].task_id
    assert stream.length() == 2


async def test_a_failed_kick_releases_the_key(settings: Settings, redis_client: Redis) -> None:
    unreachable = build_stack_broker(
        settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    )
    key = settings.key("dedup", "job-2")
    with pytest.raises(SendTaskError):
        await kiq_once(redis_client, key, 60, stamp.kicker().with_broker(unreachable), "job-2")
    assert await redis_client.exists(key) == 0
