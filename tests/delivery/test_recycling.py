"""A child past WORKER_MAX_MEMORY_MB (or WORKER_MAX_TASKS_PER_CHILD) stops fetching, drains,
exits and is replaced; every task still runs exactly once, and the worker itself keeps running."""

from dataclasses import dataclass

import pytest
from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tests.delivery.conftest import StartWorker, StreamView, run_counts
from tests.delivery.tasks_for_tests import done_key, touch
from tests.support.processes import wait_until

TASKS = 5


@dataclass(frozen=True)
class Limit:
    env: dict[str, str]
    leak_mb: int
    logged: str


LIMITS = {
    # A child starts at roughly 110-130 MiB here: 50 MiB per task crosses 250 after two or three.
    "memory": Limit({"WORKER_MAX_MEMORY_MB": "250"}, 50, "is over WORKER_MAX_MEMORY_MB=250"),
    "tasks": Limit({"WORKER_MAX_TASKS_PER_CHILD": "3"}, 0, "(WORKER_MAX_TASKS_PER_CHILD=3)"),
}


@pytest.mark.parametrize("limit", LIMITS.values(), ids=LIMITS.keys())
async def test_a_child_over_its_limit_is_recycled_and_no_task_is_lost(
    limit: Limit,
    settings: Settings,
    start_worker: StartWorker,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    stream: StreamView,
) -> None:
    worker = start_worker(WORKER_PROCESSES="1", WORKER_CONCURRENCY="2", **limit.env)
    kicker = touch.kicker().with_broker(client_broker)
    for n in range(TASKS):
        await kicker.kiq(f"task-{n}", seconds=0.2, leak_mb=limit.leak_mb)

    done = done_key(settings)
    wait_until(lambda: sync_redis.hlen(done) == TASKS, within=150, what="every task done")
    wait_until(stream.idle, within=30, what="queue idle")
    assert run_counts(sync_redis, settings) == {f"task-{n}": 1 for n in range(TASKS)}
    children = {int(pid) for pid in sync_redis.hvals(done)}
    # Five tasks cannot fit under either limit in one child: at least two generations ran them.
    assert len(children) >= 2
    assert worker.popen.poll() is None  # recycling never stops `taskiq worker` itself
    assert limit.logged in worker.log()
