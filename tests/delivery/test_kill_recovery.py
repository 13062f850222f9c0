"""SIGKILL of a worker child in the middle of a 2,000-task run: nothing lost, nothing doubled.

Every task inserts its row idempotently (the effect) and counts its runs in Redis (the
executions): a message the dead child held runs again on a live child, and its effect is
still there exactly once. Recovery is bounded by REDELIVERY_TIMEOUT + RECLAIM_INTERVAL.
"""

import os
import signal
import time

import asyncpg
from redis import Redis as SyncRedis
from sqlalchemy.engine import make_url
from taskiq import AsyncBroker
from taskiq_durable.streams.config import recovery_bound

from core.settings import Settings
from tests.delivery.conftest import StartWorker, StreamView, run_counts, warm_up
from tests.delivery.tasks_for_tests import EFFECTS_TABLE, record, runs_key
from tests.support.processes import wait_until

TASKS = 2000
REDELIVERY_TIMEOUT = 3.0
RECLAIM_INTERVAL = 0.5


def _dsn(settings: Settings) -> str:
    url = make_url(settings.database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def test_sigkill_mid_run_loses_nothing_and_doubles_no_effect(
    settings: Settings,
    start_worker: StartWorker,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    stream: StreamView,
) -> None:
    conn = await asyncpg.connect(_dsn(settings))
    try:
        await conn.execute(EFFECTS_TABLE)
        worker = start_worker(
            WORKER_PROCESSES="2",
            WORKER_CONCURRENCY="8",
            REDELIVERY_TIMEOUT_SECONDS=str(REDELIVERY_TIMEOUT),
            RECLAIM_INTERVAL_SECONDS=str(RECLAIM_INTERVAL),
            STREAM_TRIM_INTERVAL_SECONDS="1",
        )
        await warm_up(client_broker, sync_redis, settings)
        kicker = record.kicker().with_broker(client_broker)
        for n in range(TASKS):
            await kicker.kiq(n)

        runs = runs_key(settings)
        wait_until(lambda: sync_redis.hlen(runs) > TASKS // 4, within=120, what="a quarter done")
        victim, orphans = next(
            (child.pid, held)
            for child in worker.children()
            if (held := stream.pending_of(child.pid))
        )
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        bound = recovery_bound(REDELIVERY_TIMEOUT, RECLAIM_INTERVAL)
        # The feature itself: orphans are taken over within the configured bound (2x slack for
        # this shared machine), while the queue still has a backlog and after it.
        wait_until(
            lambda: not stream.pending_of(victim), within=2 * bound, what="orphans reclaimed"
        )
        recovery = time.monotonic() - killed_at
        print(f"{len(orphans)} orphans reclaimed {recovery:.2f}s after SIGKILL (bound {bound}s)")

        wait_until(lambda: sync_redis.hlen(runs) == TASKS + 1, within=180, what="every task ran")
        wait_until(stream.idle, within=60, what="no pending, nothing undelivered")
        rows = await conn.fetch("SELECT n FROM delivery_effects ORDER BY n")
        assert [row["n"] for row in rows] == list(range(TASKS))  # each effect exactly once
        executions = {
            int(name): count
            for name, count in run_counts(sync_redis, settings).items()
            if name != "warm-up"
        }
        assert set(executions) == set(range(TASKS))
        reruns = sum(count - 1 for count in executions.values())
        assert reruns <= len(orphans)  # only what the dead child held ran twice
        print(f"{reruns} of {len(orphans)} orphans had run before the kill and ran again")
        # Acknowledged entries are trimmed away once the run is over.
        wait_until(lambda: stream.length() == 0, within=30, what="stream trimmed")
    finally:
        await conn.close()
