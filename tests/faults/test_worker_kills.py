"""SIGKILL under a 5,000-task load: one worker child, then the whole worker (main process and
children, as an OOM killer or a lost node does). Checked in PostgreSQL: every job's effect is
there once; the jobs whose execution committed twice (killed between commit and acknowledgement)
are counted, never more than were in flight at the kill.

Recovery is bounded by REDELIVERY_TIMEOUT + RECLAIM_INTERVAL after the kill (after the new
worker's start-up for the whole worker); the test prints what it measured (`pytest -s`).
"""

import os
import signal
import time

import pytest
from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tests.delivery.conftest import StreamView
from tests.faults.conftest import StartFaultWorker
from tests.faults.support import Effects, kick, pending, report, wait_idle
from tests.support.processes import wait_until

pytestmark = pytest.mark.faults

JOBS = 5000
RECOVERY = {"REDELIVERY_TIMEOUT_SECONDS": "3", "RECLAIM_INTERVAL_SECONDS": "0.5"}
WORKER_ENV = {"WORKER_PROCESSES": "2", "WORKER_CONCURRENCY": "20", **RECOVERY}


@pytest.mark.parametrize("target", ["child", "whole"])
async def test_sigkill_under_load_loses_no_effect(
    target: str,
    settings: Settings,
    start_fault_worker: StartFaultWorker,
    client_broker: AsyncBroker,
    effects: Effects,
    sync_redis: SyncRedis,
    stream: StreamView,
) -> None:
    worker = start_fault_worker(**WORKER_ENV)
    await kick(client_broker, range(JOBS), hold=0.005)
    await effects.wait_for(JOBS // 5, within=120, what="a fifth of the load done")

    if target == "child":
        victim, held = next(
            (child.pid, held)
            for child in worker.children()
            if (held := stream.pending_of(child.pid))
        )
        os.kill(victim, signal.SIGKILL)
        dead = {victim}
    else:
        dead = {worker.popen.pid, *(child.pid for child in worker.children())}
        held = {entry for pid in dead for entry in stream.pending_of(pid)}
        os.killpg(worker.popen.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    done_at_kill = await effects.count()
    if target == "whole":
        wait_until(lambda: worker.popen.poll() is not None, within=10, what="worker gone")
        start_fault_worker("worker-2", **WORKER_ENV)

    # Recovered: what the dead processes held has been taken over by a live child.
    wait_until(
        lambda: not any(stream.pending_of(pid) for pid in dead), within=90, what="orphans reclaimed"
    )
    recovery = time.monotonic() - killed_at
    await effects.wait_for(JOBS, within=240, what="every effect stored")
    wait_idle(sync_redis, settings, within=60)

    state = await effects.end_state(range(JOBS))
    report(
        f"SIGKILL worker {target}",
        jobs=JOBS,
        done_at_kill=done_at_kill,
        in_flight=len(held),
        lost=state.lost,
        duplicated=state.duplicated,
        ran_twice=state.ran_twice,
        recovery_s=f"{recovery:.1f}",
    )
    assert (state.lost, state.duplicated) == (0, 0)
    assert held  # the kill did hit work in flight
    assert state.ran_twice <= len(held)  # only what the dead processes held ran again
    assert pending(sync_redis, settings) == 0
