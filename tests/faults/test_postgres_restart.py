"""PostgreSQL restarted (fast shutdown, down a few seconds, started again) under a 3,000-task
load, on a private server of the test's own: tasks that hit the outage fail with connection
errors, retry with backoff (their policy, as a production task has) and complete; the pools
throw away their dead connections (pre-ping) and recover; no worker child exits. Checked in
that database: every effect once, no dead letter."""

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from taskiq import AsyncBroker

from core.settings import Settings
from deploy.postgres_server import PostgresServer
from deploy.release import release
from tests.faults.conftest import StartFaultWorker
from tests.faults.support import Effects, kick, report, worker_children
from tests.support.processes import free_port

pytestmark = pytest.mark.faults

JOBS = 3000
DOWN_SECONDS = 3.0
DATABASE = "stack"


@dataclass
class OwnPostgres:
    server: PostgresServer
    settings: Settings


@pytest.fixture
def own_postgres(settings: Settings) -> Iterator[OwnPostgres]:
    # Outside pytest's tmp_path: as root the server runs as another user, who must reach it.
    folder = Path(tempfile.mkdtemp(prefix="fault-pg-"))
    server = PostgresServer(folder / "data", free_port(), folder / "postgres.log")
    server.start(DATABASE)
    own = settings.model_copy(update={"database_url": server.url(DATABASE)})
    release(own)
    try:
        yield OwnPostgres(server, own)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def test_postgres_restart_mid_load_tasks_retry_and_complete(
    own_postgres: OwnPostgres,
    start_fault_worker: StartFaultWorker,
    client_broker: AsyncBroker,
) -> None:
    own = own_postgres.settings
    effects = await Effects.create(own)
    worker = start_fault_worker(
        DATABASE_URL=own.database_url, WORKER_PROCESSES="2", WORKER_CONCURRENCY="20"
    )
    try:
        await effects.warm_up(client_broker)
        children = worker_children(worker)
        await kick(client_broker, range(JOBS), hold=0.005)
        await effects.wait_for(JOBS // 5, within=120, what="a fifth of the load done")

        await effects.close()
        own_postgres.server.stop()
        stopped = time.monotonic()
        await asyncio.sleep(DOWN_SECONDS)  # the outage itself
        own_postgres.server.start(DATABASE)
        back = time.monotonic()
        effects = Effects(await Effects.connect(own))
        done_at_restart = await effects.count()
        await effects.wait_for(done_at_restart + 1, within=60, what="a first effect after")
        recovery = time.monotonic() - back

        await effects.wait_for(JOBS, within=240, what="every effect stored")
        state = await effects.end_state(range(JOBS))
        letters = await effects.conn.fetchval("SELECT count(*) FROM dead_letters")
        # taskiq logs every failed attempt; each was retried (no dead letter says otherwise).
        failed_attempts = worker.log().count("Exception found while executing function")
        report(
            "PostgreSQL restart",
            jobs=JOBS,
            down_s=f"{back - stopped:.1f}",
            done_at_restart=done_at_restart,
            lost=state.lost,
            duplicated=state.duplicated,
            ran_twice=state.ran_twice,
            failed_attempts=failed_attempts,
            dead_letters=letters,
            first_effect_after_restart_s=f"{recovery:.1f}",
        )
        assert (state.lost, state.duplicated, letters) == (0, 0, 0)
        assert failed_attempts > 0  # the outage did hit running tasks
        assert worker.popen.poll() is None
        assert worker_children(worker) == children  # no child exited or was replaced
    finally:
        await effects.close()
