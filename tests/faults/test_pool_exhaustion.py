"""More tasks at once than database connections: one child running 50 tasks, each holding its
session for HOLD seconds, on a pool of 2 + 1 overflow. With DB_POOL_TIMEOUT above the longest
wait every task waits its turn and succeeds on its first attempt; with a short one the tasks
that wait too long fail into a retry (pool timeout is in the task's policy) and still complete.
Never more connections than the pool allows, never a lost task, never a dead letter."""

import asyncio
import time

import pytest
from taskiq import AsyncBroker

from tests.faults.conftest import StartFaultWorker
from tests.faults.support import Effects, kick, report

pytestmark = pytest.mark.faults

TASKS = 50
HOLD = 0.5
POOL = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "1"}
# 50 tasks x 0.5 s on 3 connections: the last one waits about 8 s for its connection.
TIMEOUTS = {"waits": 30.0, "retries": 1.0}


@pytest.mark.parametrize("case", TIMEOUTS.keys())
async def test_tasks_wait_for_a_connection_or_retry_and_none_is_lost(
    case: str,
    start_fault_worker: StartFaultWorker,
    client_broker: AsyncBroker,
    effects: Effects,
) -> None:
    worker = start_fault_worker(
        WORKER_PROCESSES="1",
        WORKER_CONCURRENCY=str(TASKS),
        DB_POOL_TIMEOUT=str(TIMEOUTS[case]),
        **POOL,
    )
    await effects.warm_up(client_broker)
    started = time.monotonic()
    await kick(client_broker, range(TASKS), hold=HOLD)
    most = 0
    while await effects.count() < TASKS:
        # The child's connections to this database (the test's own is left out).
        held = await effects.conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        most = max(most, int(held))
        assert time.monotonic() - started < 120, "tasks did not complete"
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    state = await effects.end_state(range(TASKS))
    letters = await effects.conn.fetchval("SELECT count(*) FROM dead_letters")
    failed_attempts = worker.log().count("Exception found while executing function")
    report(
        f"pool 2+1, {TASKS} tasks holding a session, DB_POOL_TIMEOUT={TIMEOUTS[case]}",
        tasks=TASKS,
        most_connections=most,
        failed_attempts=failed_attempts,
        lost=state.lost,
        duplicated=state.duplicated,
        dead_letters=letters,
        all_done_s=f"{elapsed:.1f}",
    )
    assert (state.lost, state.duplicated, letters) == (0, 0, 0)
    assert most <= 3
    if case == "waits":
        assert failed_attempts == 0  # waited, bounded by the pool timeout, never failed
        assert state.ran_twice == 0
    else:
        assert failed_attempts > 0  # timed out waiting, retried, completed
