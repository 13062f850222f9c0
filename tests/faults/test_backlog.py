"""50,000 jobs queued before any worker starts, then one worker (two children) works the
backlog off. All complete (their effects in PostgreSQL); every process's RSS and Redis's memory
are sampled throughout and stay bounded (a child holds what it runs, not the backlog); after
the run the stream is trimmed to nothing and every per-task key (results) carries a TTL, so no
Redis key grows without limit."""

import json
import time
import uuid

import pytest
from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tests.faults.conftest import StartFaultWorker
from tests.faults.support import (
    Effects,
    MemorySampler,
    kick,
    report,
    slope_mb_per_hour,
    wait_idle,
)
from tests.support.processes import wait_until

# On a quiet 2-core machine the run takes about 3 minutes; a loaded one needs the slack.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(1500)]

JOBS = 50_000
BATCH = 2000
# A child starts at ~120 MiB here; holding the backlog (50,000 messages) would add far more.
CHILD_RSS_BOUND_MB = 300
WORKER_ENV = {
    "WORKER_PROCESSES": "2",
    "WORKER_CONCURRENCY": "50",
    "DB_POOL_SIZE": "4",
    "DB_MAX_OVERFLOW": "2",
    "STREAM_TRIM_INTERVAL_SECONDS": "2",
}


def queue_copies(redis: SyncRedis, stream: str, jobs: range) -> None:
    """XADD a copy of the first queued message per job (own task id and job id): what 50,000
    kicks would write, in seconds rather than minutes on a shared 2-core machine."""
    entries = redis.xrange(stream, count=1)
    assert entries
    ((_, fields),) = entries
    assert fields is not None
    template = json.loads(fields["data"])
    for start in range(jobs.start, jobs.stop, BATCH):
        with redis.pipeline(transaction=False) as pipe:
            for n in range(start, min(start + BATCH, jobs.stop)):
                message = template | {"task_id": uuid.uuid4().hex, "args": [n]}
                pipe.xadd(stream, {"data": json.dumps(message)})
            pipe.execute()


async def test_a_50000_job_backlog_completes_with_bounded_memory_and_keys(
    settings: Settings,
    start_fault_worker: StartFaultWorker,
    client_broker: AsyncBroker,
    effects: Effects,
    sync_redis: SyncRedis,
) -> None:
    # This database only: commits stop waiting for the WAL flush (no crash is staged here), so
    # the run measures the stack rather than the shared server's disk.
    database = await effects.conn.fetchval("SELECT current_database()")
    await effects.conn.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')
    stream = settings.key("queue", "default")
    await kick(client_broker, [0])
    queue_copies(sync_redis, stream, range(1, JOBS))
    assert sync_redis.xlen(stream) == JOBS
    queued_mb = int(sync_redis.info("memory")["used_memory"]) / 2**20

    worker = start_fault_worker(**WORKER_ENV)
    started = time.monotonic()
    sampler = MemorySampler([worker], sync_redis, every=2.0)
    with sampler.running():
        await effects.wait_for(JOBS, within=1400, what="every job's effect")
        all_done = time.monotonic() - started
        wait_idle(sync_redis, settings, within=60)
        wait_until(lambda: sync_redis.xlen(stream) == 0, within=60, what="stream trimmed")
    after_mb = int(sync_redis.info("memory")["used_memory"]) / 2**20

    state = await effects.end_state(range(JOBS))
    without_ttl = {}
    result_ttls = []
    for key in sync_redis.scan_iter(match=f"{settings.redis_prefix}:*", count=5000):
        ttl = sync_redis.ttl(key)
        if ttl < 0:
            without_ttl[str(key)] = str(sync_redis.type(key))
        elif ":result:" in str(key):
            result_ttls.append(ttl)
    peaks = sampler.peaks()
    children = {name: series for name, series in sampler.rss_mb.items() if "child" in name}
    report(
        "50,000 queued before any worker",
        jobs=JOBS,
        lost=state.lost,
        duplicated=state.duplicated,
        ran_twice=state.ran_twice,
        all_done_s=f"{all_done:.0f}",
        peak_rss_mb={name: round(mb) for name, mb in peaks.items()},
        child_rss_slope_mb_h={
            name: round(slope_mb_per_hour(series[len(series) // 2 :]))
            for name, series in children.items()
        },
        redis_mb_queued=round(queued_mb, 1),
        redis_mb_after=round(after_mb, 1),
        results=len(result_ttls),
        keys_without_ttl=without_ttl,
    )
    assert (state.lost, state.duplicated) == (0, 0)
    assert all(peaks[name] < CHILD_RSS_BOUND_MB for name in children), peaks
    # Per-task keys expire; what has no TTL is a handful of per-queue and per-process keys.
    assert len(result_ttls) >= JOBS
    assert all(0 < ttl <= settings.result_ttl_seconds for ttl in result_ttls)
    assert len(without_ttl) <= 10, without_ttl
