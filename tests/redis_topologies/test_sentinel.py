"""The stack on Redis Sentinel (one master, one replica, three sentinels on loopback ports).

A worker child SIGKILLed mid-run: its messages are reclaimed and every task's effect happens
exactly once. Then `SENTINEL FAILOVER` while tasks are being kicked: no kick that returned is
lost (REDIS_KICK_REPLICAS=1: a kick the old master alone held fails, and is kicked again), and
the worker follows the new master by itself. And with web, worker and scheduler running, a
failover: the web accepts and completes an import again, delayed kicks due around the switch
each run once, the scheduler keeps ticking and sends no tick twice; none is restarted.
"""

import asyncio
import itertools
import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis.exceptions import RedisError
from taskiq import AsyncBroker, ScheduledTask
from taskiq.exceptions import SendTaskError
from taskiq_durable.delayed import later
from taskiq_durable.scheduler.specs import TICK_LABEL

from core.settings import Settings
from tests.conftest import StartProcess
from tests.delivery.conftest import StreamView
from tests.redis_topologies.servers import SentinelSetup, sentinel_setup
from tests.redis_topologies.tasks_for_tests import TABLES, effect
from tests.scheduling.support import add_schedule
from tests.support.http import orders_csv, wait_healthy, wait_import_finished
from tests.support.processes import StackProcess, free_port, procfile_commands, wait_until

pytestmark = pytest.mark.slow

TASKS = 300
REDELIVERY_TIMEOUT = 3.0
RECLAIM_INTERVAL = 0.5


def _on_sentinel(settings: Settings, setup: SentinelSetup) -> Settings:
    return settings.model_copy(
        update={
            "redis_url": setup.env["REDIS_URL"],
            "redis_mode": "sentinel",
            "redis_sentinels": tuple(setup.sentinels),
            "redis_kick_replicas": 1,
        }
    )


def _worker_command() -> str:
    command = procfile_commands()["worker"]
    command = command.replace(
        "tasks.registry", "tasks.registry tests.redis_topologies.tasks_for_tests"
    )
    return f"{command} --log-level WARNING"


async def _kick_until_acknowledged(broker: AsyncBroker, n: int) -> int:
    """Kick `effect(n)` until a kick returns; how many failed first (a failover's window)."""
    failures = 0
    while True:
        try:
            await effect.kicker().with_broker(broker).kiq(n)
            return failures
        except (RedisError, SendTaskError):  # taskiq wraps what the broker raised
            failures += 1
            await asyncio.sleep(0.2)


async def _done(conn: asyncpg.Connection, count: int) -> bool:
    return int(await conn.fetchval("SELECT count(*) FROM topology_effects")) == count


async def _wait_done(conn: asyncpg.Connection, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while not await _done(conn, count):
        assert time.monotonic() < deadline, f"only some of {count} effects after {within}s"
        await asyncio.sleep(0.2)


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelSetup]:
    with sentinel_setup(tmp_path) as setup:
        yield setup


async def test_sigkill_and_failover_on_sentinel(
    settings: Settings, start: StartProcess, sentinels: SentinelSetup
) -> None:
    from tasks.broker import build_stack_broker

    on_sentinel = _on_sentinel(settings, sentinels)
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", "", 1))
    broker = build_stack_broker(on_sentinel)
    await broker.startup()
    view = StreamView(sentinels.client(), settings.key("queue", "default"), settings.key("workers"))
    try:
        for table in TABLES:
            await conn.execute(table)
        worker = start(
            "worker",
            _worker_command(),
            **sentinels.env,
            DB_POOL_SIZE="2",
            DB_MAX_OVERFLOW="2",
            WORKER_PROCESSES="2",
            WORKER_CONCURRENCY="8",
            REDELIVERY_TIMEOUT_SECONDS=str(REDELIVERY_TIMEOUT),
            RECLAIM_INTERVAL_SECONDS=str(RECLAIM_INTERVAL),
        )
        # 1. A worker child SIGKILLed with messages in hand.
        for n in range(TASKS):
            await _kick_until_acknowledged(broker, n)

        async def some_done() -> bool:
            return int(await conn.fetchval("SELECT count(*) FROM topology_effects")) > TASKS // 4

        deadline = time.monotonic() + 120
        while not await some_done():
            assert time.monotonic() < deadline, worker.log()[-3000:]
            await asyncio.sleep(0.1)
        victim, orphans = next(
            (child.pid, held) for child in worker.children() if (held := view.pending_of(child.pid))
        )
        os.kill(victim, signal.SIGKILL)
        await _wait_done(conn, TASKS, within=120)
        runs = dict(await conn.fetch("SELECT n, count(*) FROM topology_runs GROUP BY n"))
        assert set(runs) == set(range(TASKS))
        reruns = sum(count - 1 for count in runs.values())
        assert reruns <= len(orphans)
        print(f"\nsentinel: {len(orphans)} orphans of the killed child, {reruns} ran again")

        # 2. A forced failover while tasks are kicked: every kick that returned runs.
        old_master = sentinels.master_port()
        failover = asyncio.create_task(asyncio.to_thread(sentinels.failover))
        failures = 0
        started = time.monotonic()
        for n in range(TASKS, 2 * TASKS):
            failures += await _kick_until_acknowledged(broker, n)
            await asyncio.sleep(0.01)  # kicks spread over the failover, not all before it
        new_master = await failover
        assert new_master != old_master
        print(
            f"failover {old_master} -> {new_master}: {failures} kicks failed and were kicked"
            f" again, kicking took {time.monotonic() - started:.1f}s"
        )
        await _wait_done(conn, 2 * TASKS, within=180)
        effects = [
            row["n"] for row in await conn.fetch("SELECT n FROM topology_effects ORDER BY n")
        ]
        assert effects == list(range(2 * TASKS))
        runs = dict(await conn.fetch("SELECT n, count(*) FROM topology_runs GROUP BY n"))
        print(f"runs after the failover: {sum(runs.values())} for {2 * TASKS} tasks")
        # The worker reads the new master: a task kicked now runs.
        await _kick_until_acknowledged(broker, 2 * TASKS)
        await _wait_done(conn, 2 * TASKS + 1, within=60)
    finally:
        await broker.shutdown()
        view.redis.close()
        await conn.close()


def _import_through_the_web(http: httpx.Client, web: StackProcess, prefix: str) -> None:
    """POST an import until the web accepts it (a request in the switch may fail), then wait
    for the worker to finish it; the web is healthy afterwards."""
    accepted: list[str] = []

    def accept() -> bool:
        answer = http.post("/imports", content=orders_csv(50, prefix=prefix))
        if answer.status_code == 202:
            accepted.append(str(answer.json()["id"]))
        return bool(accepted)

    wait_healthy(http, web)
    wait_until(accept, within=60, what=f"import {prefix!r} accepted", every=1)
    wait_import_finished(http, accepted[0], within=90)
    assert wait_healthy(http, web)["redis"]["up"] is True  # type: ignore[index]


def _ticks(setup: SentinelSetup, settings: Settings, schedule_id: str) -> list[str]:
    """The ticks the scheduler sent for `schedule_id`, read from the master of now."""
    with setup.client() as redis:
        entries = redis.xrange(settings.key("queue", "default"))
    labels = [json.loads(fields["data"])["labels"] for _, fields in entries]
    return [str(label[TICK_LABEL]) for label in labels if label.get("schedule_id") == schedule_id]


async def test_web_scheduler_and_delayed_kicks_follow_a_failover(
    settings: Settings, start: StartProcess, sentinels: SentinelSetup
) -> None:
    from tasks.broker import build_stack_broker

    on_sentinel = _on_sentinel(settings, sentinels)
    port = free_port()
    env = {
        **sentinels.env,
        "PORT": str(port),
        "DB_POOL_SIZE": "2",
        "DB_MAX_OVERFLOW": "2",
        # Acknowledged entries stay readable for the tick count.
        "STREAM_TRIM_INTERVAL_SECONDS": "3600",
    }
    # add_schedule runs its own event loop.
    await asyncio.to_thread(
        add_schedule,
        on_sentinel,
        ScheduledTask(
            task_name="imports.cleanup",
            labels={},
            args=[],
            kwargs={},
            schedule_id="each-second",
            interval=1,
        ),
    )
    web = start("web", **env)
    start("worker", _worker_command(), **env)
    scheduler = start("scheduler", **env)
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", "", 1))
    broker = build_stack_broker(on_sentinel)
    await broker.startup()
    try:
        for table in TABLES:
            await conn.execute(table)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await asyncio.to_thread(_import_through_the_web, http, web, "before")
            wait_until(
                lambda: len(_ticks(sentinels, settings, "each-second")) >= 3,
                within=60,
                what="scheduler ticks",
            )
            # Delayed kicks due during and after the switch.
            for n in range(20):
                kicker = later(effect.kicker().with_broker(broker), countdown=1 + n * 0.25)
                await kicker.kiq(n)
            await asyncio.to_thread(sentinels.failover)
            failed_over = datetime.now(UTC)
            await asyncio.to_thread(_import_through_the_web, http, web, "after")

        await _wait_done(conn, 20, within=90)  # every delayed kick ran, its effect once

        def ticked_after() -> bool:
            ticks = _ticks(sentinels, settings, "each-second")
            return sum(datetime.fromisoformat(t) > failed_over for t in ticks) >= 3

        wait_until(ticked_after, within=60, what="scheduler ticks after the failover")
        ticks = _ticks(sentinels, settings, "each-second")
        assert len(ticks) == len(set(ticks)), f"a tick was sent twice: {ticks}"
        # Ticks that could not be sent in the switch (or in a loop turn late on this loaded
        # machine) collapse into the latest one (docs/scheduling.md): gaps, never a repeat.
        gaps = [b - a for a, b in itertools.pairwise(datetime.fromisoformat(t) for t in ticks)]
        failed = scheduler.log().count("failed")
        print(
            f"\n{len(ticks)} ticks, none twice, longest gap {max(gaps).total_seconds():.0f}s;"
            f" {failed} sends failed in the switch"
        )
    finally:
        await broker.shutdown()
        await conn.close()
