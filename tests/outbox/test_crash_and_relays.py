"""The outbox against real processes: a web stand-in SIGKILLed 200 times between commit and
send under load loses no committed kick and duplicates no effect; relays in two worker
processes at once send every row once."""

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
from redis import Redis as SyncRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.settings import Settings
from tests.conftest import StartProcess, stack_env
from tests.outbox.conftest import TEST_TASKS, plain_dsn
from tests.outbox.tasks_for_outbox import runs_key
from tests.outbox.test_relay import write_unsent
from tests.support.processes import ROOT, worker_command

KILLS = 200


def start_worker(start: StartProcess, **env: str) -> None:
    command = f"{worker_command(TEST_TASKS)} --log-level WARNING"
    start("worker", command, DB_POOL_SIZE="2", DB_MAX_OVERFLOW="2", **env)


async def query(settings: Settings, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_dsn(settings))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def wait_for_effects(settings: Settings, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while (await query(settings, "SELECT count(*) AS n FROM outbox_effects"))[0]["n"] < count:
        assert time.monotonic() < deadline, f"fewer than {count} effects after {within}s"
        await asyncio.sleep(0.5)


def kill_stand_in_children(settings: Settings, kills: int, log: Path) -> None:
    """Fork `kills` kicking children one after the other, SIGKILL each at a random moment."""
    with log.open("wb") as stderr:
        stand_in = subprocess.Popen(
            [sys.executable, "-m", "tests.outbox.web_stand_in"],
            cwd=ROOT,
            env=stack_env(settings),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    assert stand_in.stdin is not None
    assert stand_in.stdout is not None
    try:
        for _ in range(kills):
            stand_in.stdin.write(b"fork\n")
            stand_in.stdin.flush()
            child = int(stand_in.stdout.readline())
            time.sleep(random.uniform(0.05, 0.4))  # connected and kicking by now, mostly
            with contextlib.suppress(ProcessLookupError):  # it may have killed itself
                os.kill(child, signal.SIGKILL)
            stand_in.stdin.write(b"reap\n")
            stand_in.stdin.flush()
            assert stand_in.stdout.readline() == b"reaped\n"
    finally:
        stand_in.stdin.close()
        stand_in.wait(10)


async def test_sigkill_between_commit_and_send_loses_nothing_and_doubles_nothing(
    settings: Settings, engine: AsyncEngine, start: StartProcess, tmp_path: Path
) -> None:
    await asyncio.to_thread(kill_stand_in_children, settings, KILLS, tmp_path / "stand-in.log")

    jobs = {r["id"] for r in await query(settings, "SELECT id FROM outbox_jobs")}
    rows = await query(settings, "SELECT args->>0 AS job, sent_at FROM task_outbox")
    assert len(jobs) > KILLS  # under load: each child committed several before its kill
    # Atomic: every committed job has its kick, and every kick its job.
    assert Counter(uuid.UUID(r["job"]) for r in rows) == Counter(jobs)
    unsent = sum(r["sent_at"] is None for r in rows)
    assert unsent > 0  # kills did land between a commit and its send
    print(f"{len(jobs)} jobs committed over {KILLS} kills, {unsent} left unsent by the kills")

    start_worker(start, OUTBOX_RELAY_DELAY_SECONDS="1")
    await wait_for_effects(settings, len(jobs), within=180)
    await asyncio.sleep(2)  # a late duplicate would show now
    effects = Counter(r["job"] for r in await query(settings, "SELECT job FROM outbox_effects"))
    assert effects == Counter(jobs)  # each job's effect exactly once, none lost
    assert (await query(settings, "SELECT count(*) AS n FROM task_outbox WHERE sent_at IS NULL"))[
        0
    ]["n"] == 0
    redis = SyncRedis.from_url(settings.redis_url, decode_responses=True)
    try:
        runs = {k: int(v) for k, v in redis.hgetall(runs_key(settings)).items()}
    finally:
        redis.close()
    assert len(runs) == len(jobs)
    print(f"{sum(runs.values()) - len(runs)} duplicate runs recognised by first_processing")


async def test_relays_in_two_worker_processes_send_every_row_once(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], start: StartProcess
) -> None:
    rows = await write_unsent(sessions, 2000, ordered=False)
    for _ in range(2):  # two processes, two relays (children) each
        start_worker(start, OUTBOX_RELAY_DELAY_SECONDS="0", WORKER_PROCESSES="2")
    await wait_for_effects(settings, len(rows), within=180)
    await asyncio.sleep(2)
    redis = SyncRedis.from_url(settings.redis_url, decode_responses=True)
    try:
        runs = {k: int(v) for k, v in redis.hgetall(runs_key(settings)).items()}
    finally:
        redis.close()
    # Every row sent once and run once: no row went to the stream twice.
    assert runs == {row.id.hex: 1 for row in rows}
