"""A task running 3x longer than the redelivery timeout, under steady traffic, runs once.

Without the heartbeat taskiq-redis's XAUTOCLAIM hands such a task to the next worker that
reads, and it runs again, concurrently.
"""

import asyncio
import time

from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tests.delivery.conftest import StartWorker, StreamView, run_counts, warm_up
from tests.delivery.tasks_for_tests import done_key, touch
from tests.support.processes import wait_until

REDELIVERY_TIMEOUT = 2.0


async def test_long_task_under_traffic_runs_exactly_once(
    settings: Settings,
    start_worker: StartWorker,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    stream: StreamView,
) -> None:
    start_worker(
        WORKER_PROCESSES="2",
        WORKER_CONCURRENCY="4",
        REDELIVERY_TIMEOUT_SECONDS=str(REDELIVERY_TIMEOUT),
        RECLAIM_INTERVAL_SECONDS="0.3",
    )
    await warm_up(client_broker, sync_redis, settings)
    kicker = touch.kicker().with_broker(client_broker)

    await kicker.kiq("long", seconds=3 * REDELIVERY_TIMEOUT)
    # Steady traffic for the whole run: every read is a chance for taskiq-redis to re-claim.
    deadline = time.monotonic() + 3 * REDELIVERY_TIMEOUT + 1
    shorts = 0
    while time.monotonic() < deadline:
        await kicker.kiq(f"short-{shorts}")
        shorts += 1
        await asyncio.sleep(0.1)

    wait_until(lambda: sync_redis.hexists(done_key(settings), "long"), within=30, what="long task")
    wait_until(stream.idle, within=30, what="queue idle")
    runs = run_counts(sync_redis, settings)
    assert runs == {"warm-up": 1, "long": 1} | {f"short-{i}": 1 for i in range(shorts)}
