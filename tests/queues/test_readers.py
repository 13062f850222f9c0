"""A kick to a configured queue that no live worker reads is warned about at kick time
(taskiq_durable.readers): on real Redis, with a real worker reading the other queue."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker
from taskiq_durable.config import DurableConfig
from taskiq_durable.queues import stream_name
from taskiq_durable.readers import (
    CHECK_SECONDS,
    WARN_SECONDS,
    ReaderPresence,
    UnreadQueues,
    live_readers,
    readers_key,
)

from core.settings import Settings
from tests.conftest import StartProcess
from tests.queues.tasks_for_tests import ping, slow
from tests.support.processes import procfile_commands

LOGGER = "taskiq_durable.readers"


@pytest.fixture
async def config(redis_client: Redis) -> AsyncIterator[DurableConfig]:
    config = DurableConfig(
        redis_prefix=f"r{uuid.uuid4().hex[:12]}",
        queues=("default", "emails"),
        redelivery_timeout_seconds=0.6,
    )
    yield config
    keys = [key async for key in redis_client.scan_iter(match=config.key("*"))]
    if keys:
        await redis_client.delete(*keys)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


async def test_a_reader_is_live_from_its_start_until_it_stops_or_goes_silent(
    redis_client: Redis, config: DurableConfig
) -> None:
    emails = replace(config, worker_queue="emails")
    assert await live_readers(redis_client, config, "emails") == 0
    first, second = ReaderPresence(emails, "child-1"), ReaderPresence(emails, "child-2")
    await first.start(redis_client)
    await second.start(redis_client)
    assert await live_readers(redis_client, config, "emails") == 2
    assert await live_readers(redis_client, config, "default") == 0  # per queue
    await first.stop(redis_client)
    assert await live_readers(redis_client, config, "emails") == 1  # gone at once
    await asyncio.sleep(config.redelivery_timeout_seconds * 2)
    # Still announcing, three times per redelivery timeout.
    assert await live_readers(redis_client, config, "emails") == 1
    await second.stop(redis_client)
    assert await live_readers(redis_client, config, "emails") == 0
    assert not await redis_client.exists(readers_key(config, "emails"))


async def test_a_reader_that_stops_announcing_is_dead_after_a_redelivery_timeout(
    redis_client: Redis, config: DurableConfig
) -> None:
    # What a SIGKILLed child leaves: its last announcement, never withdrawn.
    await ReaderPresence(replace(config, worker_queue="emails"), "child-1").announce(redis_client)
    assert await live_readers(redis_client, config, "emails") == 1
    await asyncio.sleep(config.redelivery_timeout_seconds + 0.2)
    assert await live_readers(redis_client, config, "emails") == 0


async def test_the_warning_comes_once_a_minute_and_redis_is_asked_once_per_check_interval(
    redis_client: Redis, config: DurableConfig, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    unread = UnreadQueues(config, clock=lambda: now[0])
    stream = stream_name(config, "emails")
    reader = ReaderPresence(replace(config, worker_queue="emails"), "child-1")

    async def kick_at(seconds: float) -> int:
        now[0] = 1000.0 + seconds
        await unread.kicked(redis_client, "emails", stream)
        return len(warnings(caplog))

    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert await kick_at(0) == 1
    assert f"no live worker reads queue 'emails' (stream {stream})" in warnings(caplog)[0]
    assert await kick_at(1) == 1  # still unread, already said
    assert await kick_at(WARN_SECONDS - 1) == 1
    assert await kick_at(WARN_SECONDS) == 2  # a minute on, and still nobody reads it

    # A worker starts reading: found at the next check, and nothing more is said.
    await reader.start(redis_client)
    assert await kick_at(2 * WARN_SECONDS) == 2
    # It stops. Until the next check the queue counts as read: kicks meanwhile pay no round trip.
    await reader.stop(redis_client)
    assert await kick_at(2 * WARN_SECONDS + CHECK_SECONDS - 1) == 2
    assert await kick_at(2 * WARN_SECONDS + CHECK_SECONDS) == 3


async def test_a_kick_warns_about_the_queue_without_a_worker_not_the_one_with(
    start: StartProcess,
    settings: Settings,
    client_broker: AsyncBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tasks.broker import build_stack_broker

    assert settings.queues == ("default", "urgent")
    command = procfile_commands()["worker"].replace(
        "tasks.registry", "tasks.registry tests.queues.tasks_for_tests"
    )
    start("worker", command, WORKER_PROCESSES="1", DB_POOL_SIZE="2", DB_MAX_OVERFLOW="2")
    # Ready: the worker of `default` ran a task (this broker may have warned before it joined).
    await (await slow.kicker().with_broker(client_broker).kiq(0)).wait_result(timeout=90)

    caplog.set_level(logging.WARNING, logger=LOGGER)
    caplog.clear()
    web = build_stack_broker(settings)  # a sending process that starts now
    await web.startup()
    try:
        done = await slow.kicker().with_broker(web).kiq(0)
        assert not (await done.wait_result(timeout=30)).is_err
        assert warnings(caplog) == []

        task = await ping.kicker().with_broker(web).kiq()  # ping's queue is `urgent`
        (warning,) = warnings(caplog)
        assert f"queue 'urgent' (stream {settings.key('queue', 'urgent')})" in warning
        # Accepted all the same: it waits in its stream for a worker of its queue.
        assert await web.result_backend.is_result_ready(task.task_id) is False
        assert await ping.kicker().with_broker(web).kiq() is not None
        assert len(warnings(caplog)) == 1  # once a minute, not once a kick
    finally:
        await web.shutdown()
