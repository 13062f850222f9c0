"""The soak: the three Procfile processes under mixed load for SOAK_SECONDS (default 1800).

Every second the test kicks a batch of jobs (short ones, some holding their session, some failing
their first attempt into a retry, some delayed by a countdown), asks the web process for its
health and a task's status, and every 30 s posts a small CSV import; the scheduler sends a 1 s
interval schedule throughout. The RSS of every process (web, worker main and children, scheduler)
and Redis's used_memory are sampled every 5 s. At the end: every job's effect is in PostgreSQL
once, every import succeeded, every HTTP answer was 200/202, and memory is flat: each series'
second-half slope is printed (MiB/hour) and its growth between the second and the last quarter
stays under GROWTH_BOUND_MB. Results expire after RESULT_TTL_SECONDS=120 here, so Redis reaches
its steady state within the first minutes instead of after the production hour.

`make soak` (SOAK_SECONDS=600 make soak for ten minutes); the figures go in docs/reliability.md.
"""

import asyncio
import os
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from redis import Redis as SyncRedis
from taskiq import AsyncBroker
from taskiq_durable.delayed import later

from core.settings import Settings
from tasks.broker import build_stack_broker
from tests.conftest import StartProcess
from tests.delivery.throwaway_redis import ThrowawayRedis
from tests.faults.support import (
    SMALL_POOLS,
    WORKER,
    Effects,
    MemorySampler,
    kick,
    report,
    slope_mb_per_hour,
    wait_idle,
)
from tests.faults.tasks_for_faults import effect
from tests.scheduling.support import add_schedule
from tests.scheduling.test_scheduler_processes import SCHEDULER, schedule
from tests.support.http import orders_csv, wait_healthy, wait_import_finished
from tests.support.processes import free_port

SECONDS = float(os.environ.get("SOAK_SECONDS", "1800"))
pytestmark = [pytest.mark.soak, pytest.mark.timeout(SECONDS + 900)]

PER_SECOND = 20  # jobs kicked each second: a tenth hold their session, a fiftieth fail first
IMPORT_EVERY = 30.0
GROWTH_BOUND_MB = 20.0
ENV = {
    "RESULT_TTL_SECONDS": "120",
    "STREAM_TRIM_INTERVAL_SECONDS": "10",
    "WORKER_PROCESSES": "2",
    "WORKER_CONCURRENCY": "20",
}


def growth_mb(series: list[tuple[float, float]]) -> float:
    """Mean of the last quarter less the mean of the second quarter (the first is warm-up)."""
    quarter = len(series) // 4
    return statistics.mean(mb for _, mb in series[-quarter:]) - statistics.mean(
        mb for _, mb in series[quarter : 2 * quarter]
    )


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    """A Redis of the soak's own, persistent as in production: its used_memory is ours alone."""
    server = ThrowawayRedis(free_port(), tmp_path, ("--appendonly", "yes"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def own_broker(settings: Settings, own_redis: ThrowawayRedis) -> AsyncIterator[AsyncBroker]:
    broker = build_stack_broker(settings.model_copy(update={"redis_url": own_redis.url}))
    await broker.startup()
    try:
        yield broker
    finally:
        await broker.shutdown()


async def test_soak_mixed_load_memory_flat_nothing_lost(
    settings: Settings,
    own_redis: ThrowawayRedis,
    own_broker: AsyncBroker,
    start: StartProcess,
    effects: Effects,
) -> None:
    settings = settings.model_copy(update={"redis_url": own_redis.url})
    client_broker = own_broker
    sync_redis = SyncRedis.from_url(own_redis.url, decode_responses=True)
    env = ENV | {"REDIS_URL": own_redis.url}
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    web = start("web", PORT=str(port), **SMALL_POOLS, **env)
    worker = start("worker", WORKER, **SMALL_POOLS, **env)
    # add_schedule runs its own event loop: a thread of its own, beside this test's loop.
    await asyncio.to_thread(add_schedule, settings, schedule("soak-every-second", interval=1))
    scheduler = start("scheduler", SCHEDULER, **env)
    imports: list[str] = []
    answers: dict[int, int] = {}
    jobs = 0
    with httpx.Client(base_url=base_url, timeout=30) as client:
        wait_healthy(client, web)
    await effects.warm_up(client_broker)
    sampler = MemorySampler([web, worker, scheduler], sync_redis, every=5.0)
    delayed = later(effect.kicker().with_broker(client_broker), countdown=5)
    started = time.monotonic()
    last_import = started - IMPORT_EVERY
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        with sampler.running():
            while (now := time.monotonic()) - started < SECONDS:
                batch = range(jobs, jobs + PER_SECOND)
                await kick(client_broker, batch[2:-2])
                await kick(client_broker, batch[:2], hold=0.2)
                await kick(client_broker, [batch[-2]], fail_first=jobs % 50 == 0)
                await delayed.kiq(batch[-1])
                jobs += PER_SECOND
                for path in ("/health", f"/tasks/{jobs}"):
                    status = (await http.get(path)).status_code
                    answers[status] = answers.get(status, 0) + 1
                if now - last_import >= IMPORT_EVERY:
                    body = orders_csv(50, prefix=f"s{len(imports)}-")
                    queued = await http.post("/imports", content=body)
                    answers[queued.status_code] = answers.get(queued.status_code, 0) + 1
                    imports.append(queued.json()["id"])
                    last_import = now
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - now)))
            await effects.wait_for(jobs, within=300, what="every job's effect")
            wait_idle(sync_redis, settings, within=60)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        finished = [wait_import_finished(client, i, within=120)["status"] for i in imports]
    handled = sync_redis.zscore(settings.key("schedule", "handled"), "soak-every-second")
    sync_redis.close()

    state = await effects.end_state(range(jobs))
    series = sampler.rss_mb | {"redis": sampler.redis_mb}
    half = {name: points[len(points) // 2 :] for name, points in series.items()}
    report(
        f"soak {SECONDS:.0f} s",
        jobs=jobs,
        imports=len(imports),
        lost=state.lost,
        duplicated=state.duplicated,
        ran_twice=state.ran_twice,
        http=answers,
        peak_mb={name: round(mb) for name, mb in sampler.peaks().items()},
        slope_mb_h={name: round(slope_mb_per_hour(points), 1) for name, points in half.items()},
        growth_mb={name: round(growth_mb(points), 1) for name, points in series.items()},
    )
    assert (state.lost, state.duplicated) == (0, 0)
    assert set(finished) == {"succeeded"}
    assert set(answers) <= {200, 202}
    assert handled is not None
    last_tick = datetime.fromtimestamp(handled / 1000, UTC)
    assert (datetime.now(UTC) - last_tick).total_seconds() < 60  # the scheduler kept ticking
    for process in (web, worker, scheduler):
        assert process.popen.poll() is None, f"{process.name} exited"
    for name, points in series.items():
        assert growth_mb(points) < GROWTH_BOUND_MB, f"{name} grew: {points[-5:]}"
