"""SIGTERM to `taskiq worker`, idle or busy: it exits within its drain bound, holds no more
than it can run while busy, and hands what it still held back to the queue at once."""

import os
import signal
import time

import pytest
from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tests.delivery.conftest import StartWorker, StreamView, warm_up
from tests.delivery.tasks_for_tests import runs_key, touch
from tests.support.processes import wait_until

DRAIN_SECONDS = 2
CONCURRENCY = 2
# The Procfile's --shutdown-timeout, plus the main process's 1 s poll before it signals children.
EXIT_BOUND = 1 + DRAIN_SECONDS + 5


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
async def test_sigterm_exits_within_the_drain_bound_and_hands_back(
    busy: bool,
    settings: Settings,
    start_worker: StartWorker,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    stream: StreamView,
) -> None:
    worker = start_worker(
        WORKER_PROCESSES="1",
        WORKER_CONCURRENCY=str(CONCURRENCY),
        WORKER_DRAIN_SECONDS=str(DRAIN_SECONDS),
    )
    await warm_up(client_broker, sync_redis, settings)
    kicker = touch.kicker().with_broker(client_broker)
    queued = 6 if busy else 0
    for n in range(queued):
        await kicker.kiq(f"long-{n}", seconds=60)
    if busy:
        runs = runs_key(settings)
        wait_until(lambda: sync_redis.hlen(runs) == 1 + CONCURRENCY, within=30, what="busy")
        # Bounded prefetch: the child holds what it runs; the rest stays for other workers.
        assert (stream.pending(), stream.lag()) == (CONCURRENCY, queued - CONCURRENCY)

    os.kill(worker.popen.pid, signal.SIGTERM)  # the main process only, as a platform does
    signalled = time.monotonic()
    wait_until(lambda: worker.popen.poll() is not None, within=2 * EXIT_BOUND, what="exit")
    state = "busy" if busy else "idle"
    print(f"{state} worker exited {time.monotonic() - signalled:.2f}s after SIGTERM")
    assert worker.alive_pids() == set()
    # Nothing is left pending on the departed consumer: all of it is deliverable right away.
    assert (stream.pending(), stream.lag()) == (0, queued)
