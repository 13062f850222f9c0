"""Redis SIGKILLed under load and restarted on the same port and directory, with the worker
running throughout: without persistence, with AOF `appendfsync everysec` and `always`.

What each run prints (`pytest -s`) is what docs/reliability.md's Redis rows say: the key
families before the crash and after the restart (queue stream and its pending entries, the
delayed set, results, heartbeats...), and in PostgreSQL how many kicked jobs never got their
effect. With AOF (either fsync policy) a crash of the Redis process loses nothing: Redis writes
each command to the AOF file before it answers, so a write it acknowledged is in the kernel's
page cache even when the fsync has not happened yet. Only an operating-system crash or power
loss can lose the last `everysec` second (up to 2 s when fsync stalls), which no loopback test
can stage; `always` closes that too.
"""

import asyncio
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from taskiq import AsyncBroker
from taskiq_durable.delayed import due_set_key, later

from core.settings import Settings
from tasks.broker import build_stack_broker
from tests.delivery.throwaway_redis import NO_PERSISTENCE, ThrowawayRedis
from tests.faults.conftest import StartFaultWorker
from tests.faults.support import Effects, group_state, kick, report
from tests.faults.tasks_for_faults import effect
from tests.support.processes import StackProcess, free_port, wait_until

pytestmark = pytest.mark.faults

JOBS = 1000
DELAYED = range(JOBS, JOBS + 20)
COUNTDOWN = 30.0
# Redis dies once a quarter of the load is done, or this long before the delayed jobs are due
# (a loaded machine is slow to get there), so they are still parked.
BEFORE_DUE = 8.0
DUE_SET = due_set_key("queue:default")  # the key family of the queue's delayed set
MODES = {
    "none": NO_PERSISTENCE,
    "aof-everysec": ("--save", "", "--appendonly", "yes", "--appendfsync", "everysec"),
    "aof-always": ("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
}
# Task ids, entry ids and pids in key names: one family per shape.
_ID = re.compile(r"^([0-9a-f]{8,}(-[0-9a-f]+)*|\d+(-\d+)?|[0-9a-f-]{32,36})$")
_SIZE = {"stream": "xlen", "zset": "zcard", "hash": "hlen", "set": "scard", "list": "llen"}


def contents(redis: SyncRedis, settings: Settings) -> Counter[str]:
    """What Redis holds for the stack, by key family (`result:*`, `queue:default`...): keys for
    strings, entries or members for the rest, and the queue's pending entries apart."""
    found: Counter[str] = Counter()
    for key in redis.scan_iter(match=f"{settings.redis_prefix}:*", count=1000):
        parts = str(key).removeprefix(f"{settings.redis_prefix}:").split(":")
        family = ":".join("*" if _ID.match(part) else part for part in parts)
        size = _SIZE.get(str(redis.type(key)))
        found[family] += int(getattr(redis, size)(key)) if size else 1
    stream, group = settings.key("queue", "default"), settings.key("workers")
    if redis.exists(stream):
        pending, undelivered = group_state(redis, stream, group)
        found["queue:default pending"] = pending
        found["queue:default undelivered"] = undelivered
    return found


@contextmanager
def frozen(process: StackProcess) -> Iterator[None]:
    """The worker stopped (SIGSTOP) while inside, so what Redis kept is read before the
    worker writes again; its connections broke all the same, as they do in an outage."""
    pids = process.alive_pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@pytest.fixture(params=MODES.keys())
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def own_redis(mode: str, tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(free_port(), tmp_path, MODES[mode])
    server.start()
    try:
        yield server
    finally:
        server.kill()


async def test_redis_crash_loses_only_what_persistence_does_not_keep(
    mode: str,
    settings: Settings,
    own_redis: ThrowawayRedis,
    start_fault_worker: StartFaultWorker,
    effects: Effects,
) -> None:
    own = settings.model_copy(update={"redis_url": own_redis.url})
    broker: AsyncBroker = build_stack_broker(own)
    await broker.startup()
    redis = SyncRedis.from_url(own_redis.url, decode_responses=True)
    try:
        worker = start_fault_worker(REDIS_URL=own_redis.url, WORKER_PROCESSES="1")
        await effects.warm_up(broker)
        delayed = later(effect.kicker().with_broker(broker), countdown=COUNTDOWN)
        for n in DELAYED:
            await delayed.kiq(n)
        delayed_due = time.monotonic() + COUNTDOWN
        parked = due_set_key(own.key("queue", "default"))
        wait_until(lambda: redis.zcard(parked) == len(DELAYED), within=10, what="parked")
        await kick(broker, range(JOBS), hold=0.005)
        await effects.wait_for(1, within=60, what="the load under way")
        await effects.wait_at_most(JOBS // 4, delayed_due - BEFORE_DUE - time.monotonic())

        with frozen(worker):
            before = contents(redis, own)
            done_at_crash = await effects.count()
            own_redis.kill()  # SIGKILL: no shutdown save, no final fsync
            own_redis.start()
            after = contents(redis, own)
        print(f"\n{mode}: before the crash {dict(before)}\n{mode}: after restart {dict(after)}")

        # The worker rides it out; a job kicked after the restart runs.
        await kick(broker, [JOBS + 100])
        everything = [*range(JOBS), *DELAYED, JOBS + 100]
        if mode == "none":
            await effects.wait_for(done_at_crash + 1, within=120, what="the job kicked after")
            # Waiting for something not to happen: the delayed jobs were due by now, and the
            # in-flight ones have finished (or never will).
            await asyncio.sleep(max(0.0, delayed_due + 3 - time.monotonic()))
        else:
            await effects.wait_for(len(everything), within=180, what="every effect stored")
        state = await effects.end_state(everything)
        report(
            f"Redis SIGKILL+restart, persistence {mode}",
            jobs=state.jobs,
            undelivered=before["queue:default undelivered"],
            in_flight=before["queue:default pending"],
            delayed=before[DUE_SET],
            lost=state.lost,
            duplicated=state.duplicated,
            ran_twice=state.ran_twice,
        )
        assert worker.popen.poll() is None  # no worker exit
        assert state.duplicated == 0
        assert before["queue:default pending"] > 0
        assert before[DUE_SET] == len(DELAYED)
        if mode == "none":
            assert after == Counter()  # stream, pending entries, delayed set, results: all gone
            assert state.lost > 0
        else:
            assert after == before  # everything Redis acknowledged survived the crash
            assert state.lost == 0
    finally:
        redis.close()
        await broker.shutdown()
