"""Poison in the middle of 2,000 good jobs: garbage bytes XADDed to the stream, arguments of the
wrong type, a task nobody has, and 10 MB payloads (garbage, and a real task's call with a 10 MB
argument of the wrong type). Each becomes one dead letter with its reason and is acknowledged;
the good jobs all complete around them, and the worker's children stay the same processes."""

import pytest
from redis import Redis as SyncRedis
from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker
from taskiq_durable.dead_letters import DeadLetterReason

from core.settings import Settings
from tests.faults.conftest import StartFaultWorker
from tests.faults.support import Effects, kick, report, wait_idle, worker_children

pytestmark = pytest.mark.faults

JOBS = 2000
TEN_MB = 10 * 2**20


async def test_poison_messages_are_dead_lettered_while_good_traffic_continues(
    settings: Settings,
    start_fault_worker: StartFaultWorker,
    client_broker: AsyncBroker,
    effects: Effects,
    sync_redis: SyncRedis,
) -> None:
    worker = start_fault_worker(WORKER_PROCESSES="2", WORKER_CONCURRENCY="20")
    await effects.warm_up(client_broker)
    children = worker_children(worker)
    stream = settings.key("queue", "default")
    effect_by_name: AsyncKicker[..., object] = AsyncKicker("tests.faults.effect", client_broker, {})
    unknown: AsyncKicker[..., object] = AsyncKicker("tests.faults.no_such_task", client_broker, {})

    await kick(client_broker, range(JOBS // 2), hold=0.005)
    sync_redis.xadd(stream, {b"data": b"\x00\xff garbage, not a message"})
    await effect_by_name.kiq("not a number")
    await unknown.kiq(1)
    sync_redis.xadd(stream, {b"data": b"\xff" * TEN_MB})
    await effect_by_name.kiq("x" * TEN_MB)
    await kick(client_broker, range(JOBS // 2, JOBS), hold=0.005)

    await effects.wait_for(JOBS, within=180, what="every good job's effect")
    wait_idle(sync_redis, settings, within=60)
    letters = await effects.conn.fetch(
        "SELECT reason, task_name, error, length(raw) AS raw_chars,"
        " pg_column_size(args) AS args_bytes FROM dead_letters ORDER BY id"
    )
    state = await effects.end_state(range(JOBS))
    found = sorted(
        (DeadLetterReason[row["reason"]], row["task_name"], (row["raw_chars"] or 0) > TEN_MB)
        for row in letters
    )
    report(
        "poison messages under load",
        jobs=JOBS,
        poison=5,
        dead_letters=len(letters),
        lost=state.lost,
        duplicated=state.duplicated,
        letters="; ".join(
            f"{row['reason']} (raw {row['raw_chars']} chars, args {row['args_bytes']} B):"
            f" {row['error'][:60]}"
            for row in letters
        ),
    )
    assert found == sorted(
        [
            (DeadLetterReason.UNDECODABLE, None, False),
            (DeadLetterReason.UNDECODABLE, None, True),
            (DeadLetterReason.BAD_ARGUMENTS, "tests.faults.effect", False),
            (DeadLetterReason.BAD_ARGUMENTS, "tests.faults.effect", False),
            (DeadLetterReason.UNKNOWN_TASK, "tests.faults.no_such_task", False),
        ]
    )
    assert (state.lost, state.duplicated) == (0, 0)
    assert worker_children(worker) == children  # no child died or was replaced
