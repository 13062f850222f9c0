"""Redis dies for a few seconds and comes back empty on the same port: the worker child rides
it out (same pid, one warning per outage) and runs a task kicked afterwards."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tasks.broker import build_stack_broker
from tests.delivery.conftest import StartWorker
from tests.delivery.tasks_for_tests import done_key, touch
from tests.delivery.throwaway_redis import ThrowawayRedis
from tests.support.processes import free_port, wait_until

OUTAGE_SECONDS = 3.0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


async def test_listen_survives_a_redis_restart(
    settings: Settings, own_redis: ThrowawayRedis, start_worker: StartWorker
) -> None:
    own_settings = settings.model_copy(update={"redis_url": own_redis.url})
    broker: AsyncBroker = build_stack_broker(own_settings)
    await broker.startup()
    redis = SyncRedis.from_url(own_redis.url, decode_responses=True)
    try:
        worker = start_worker(
            WORKER_PROCESSES="1",
            REDIS_URL=own_redis.url,
        )
        kicker = touch.kicker().with_broker(broker)
        await kicker.kiq("before")
        done = done_key(own_settings)
        wait_until(lambda: redis.hexists(done, "before"), within=90, what="task before outage")
        children = {child.pid for child in worker.children()}

        own_redis.kill()
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait for something
        own_redis.start()

        await kicker.kiq("after")
        wait_until(lambda: redis.hexists(done, "after"), within=60, what="task after outage")
        assert {child.pid for child in worker.children()} == children  # no child died
        log = worker.log()
        assert log.count("listen: Redis unavailable") == 1
        assert "listen: Redis back after" in log
    finally:
        redis.close()
        await broker.shutdown()
