"""A child whose memory passes WORKER_MAX_MEMORY_MB stops fetching, drains, exits and is
replaced; every task still runs exactly once, and the worker itself keeps running."""

from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tests.delivery.conftest import StartWorker, StreamView, run_counts
from tests.delivery.tasks_for_tests import done_key, touch
from tests.support.processes import wait_until

TASKS = 5
LEAK_MB = 50
# A child starts at roughly 110-130 MiB here, so it crosses this after two or three tasks.
LIMIT_MB = 250


async def test_memory_hungry_tasks_recycle_their_child_and_none_is_lost(
    settings: Settings,
    start_worker: StartWorker,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    stream: StreamView,
) -> None:
    worker = start_worker(
        WORKER_PROCESSES="1",
        WORKER_CONCURRENCY="2",
        WORKER_MAX_MEMORY_MB=str(LIMIT_MB),
    )
    kicker = touch.kicker().with_broker(client_broker)
    for n in range(TASKS):
        await kicker.kiq(f"hog-{n}", seconds=0.2, leak_mb=LEAK_MB)

    done = done_key(settings)
    wait_until(lambda: sync_redis.hlen(done) == TASKS, within=150, what="every task done")
    wait_until(stream.idle, within=30, what="queue idle")
    runs = run_counts(sync_redis, settings)
    assert runs == {f"hog-{n}": 1 for n in range(TASKS)}
    children = {int(pid) for pid in sync_redis.hvals(done)}
    # 5 x 50 MiB cannot fit under the limit in one child: at least two generations ran them.
    assert len(children) >= 2
    assert worker.popen.poll() is None  # recycling never stops `taskiq worker` itself
    assert f"is over WORKER_MAX_MEMORY_MB={LIMIT_MB}" in worker.log()
