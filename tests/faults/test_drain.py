"""SIGTERM to `taskiq worker` under a 5,000-task load, as a platform stops it: the short tasks
in flight finish inside WORKER_DRAIN_SECONDS, the long ones that can't are cut and handed back
to the queue, nothing stays pending on the departed consumers, and the next worker finishes the
rest. Checked in PostgreSQL: every effect once, and no job committed twice (a drain that ran
something twice would have acknowledged too late)."""

import asyncio
import os
import signal
import time

import pytest
from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tests.faults.conftest import StartFaultWorker
from tests.faults.support import Effects, kick, pending, report, wait_idle
from tests.support.processes import wait_until

pytestmark = pytest.mark.faults

JOBS = 5000
LONG = range(JOBS, JOBS + 10)  # each holds its session past the drain: cut and handed back
LONG_SECONDS = 20.0
DRAIN_SECONDS = 3
WORKER_ENV = {
    "WORKER_PROCESSES": "2",
    "WORKER_CONCURRENCY": "20",
    "WORKER_DRAIN_SECONDS": str(DRAIN_SECONDS),
}
# The Procfile's --shutdown-timeout 5, plus the main process's 1 s poll before it signals.
EXIT_BOUND = 1 + DRAIN_SECONDS + 5


async def test_sigterm_drains_finishes_or_hands_back_and_loses_nothing(
    settings: Settings,
    start_fault_worker: StartFaultWorker,
    client_broker: AsyncBroker,
    effects: Effects,
    sync_redis: SyncRedis,
) -> None:
    worker = start_fault_worker(**WORKER_ENV)
    await effects.warm_up(client_broker)
    await kick(client_broker, LONG, hold=LONG_SECONDS)
    kicked = time.monotonic()
    # The signal comes while the load is still being kicked, as a deploy meets traffic.
    load = asyncio.create_task(kick(client_broker, range(JOBS), hold=0.005))
    await effects.wait_for(JOBS // 50, within=60, what="the load under way")
    assert time.monotonic() - kicked < LONG_SECONDS - DRAIN_SECONDS, "the long jobs ran out"

    in_flight = pending(sync_redis, settings)
    done_at_signal = await effects.count()
    os.kill(worker.popen.pid, signal.SIGTERM)  # the main process only
    signalled = time.monotonic()
    wait_until(lambda: worker.popen.poll() is not None, within=2 * EXIT_BOUND, what="exit")
    exited = time.monotonic() - signalled
    assert worker.alive_pids() == set()
    # Handed back: nothing pending on the departed consumers, the long jobs not stored.
    assert pending(sync_redis, settings) == 0
    finished_in_drain = await effects.count() - done_at_signal
    stored_long = await effects.conn.fetchval(
        "SELECT count(*) FROM fault_effects WHERE n = ANY($1)", list(LONG)
    )
    assert stored_long == 0
    await load

    restarted = time.monotonic()
    start_fault_worker("worker-2", **WORKER_ENV)
    await effects.wait_for(JOBS + len(LONG), within=240, what="every effect stored")
    wait_idle(sync_redis, settings, within=60)
    state = await effects.end_state([*range(JOBS), *LONG])
    report(
        "SIGTERM drain",
        jobs=state.jobs,
        in_flight=in_flight,
        finished_in_drain=finished_in_drain,
        handed_back_long=len(LONG),
        exit_s=f"{exited:.1f}",
        lost=state.lost,
        duplicated=state.duplicated,
        ran_twice=state.ran_twice,
        rest_done_s=f"{time.monotonic() - restarted:.1f}",
    )
    assert exited <= EXIT_BOUND
    assert (state.lost, state.duplicated, state.ran_twice) == (0, 0, 0)
