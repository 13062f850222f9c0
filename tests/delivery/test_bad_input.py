"""Bad input: an undecodable message, an unknown task, arguments that don't fit. Each becomes a
dead letter with its reason, is acknowledged, and the worker goes on with the next message."""

from redis import Redis as SyncRedis
from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker
from taskiq_durable.dead_letters import DeadLetterReason

from core.settings import Settings
from tests.conftest import StartProcess
from tests.delivery.conftest import StreamView
from tests.delivery.retry_support import (
    WORKER_ENV,
    database,
    dead_letters,
    eventually,
    retry_worker_command,
    starts,
)
from tests.delivery.tasks_for_retries import stamp
from tests.support.processes import wait_until


async def test_bad_messages_become_dead_letters_and_the_worker_goes_on(
    settings: Settings,
    start: StartProcess,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    stream: StreamView,
) -> None:
    worker = start("worker", retry_worker_command(), WORKER_PROCESSES="1", **WORKER_ENV)
    await stamp.kicker().with_broker(client_broker).kiq("before")
    wait_until(lambda: starts(sync_redis, settings, "before"), within=60, what="worker up")
    pids = worker.alive_pids()

    sync_redis.xadd(stream.stream, {b"data": b"\x00 not json at all\xff"})
    unknown: AsyncKicker[..., object] = AsyncKicker(
        "tests.delivery.no_such_task", client_broker, {}
    )
    await unknown.kiq(1, 2)
    by_name: AsyncKicker[..., object] = AsyncKicker("tests.delivery.stamp", client_broker, {})
    await by_name.kiq("wrong\x00", n="not a number")
    await by_name.kiq("extra", 1, 2, 3)
    await stamp.kicker().with_broker(client_broker).kiq("after")

    wait_until(lambda: starts(sync_redis, settings, "after"), within=20, what="the next task")
    async with database(settings) as sessionmaker:
        letters = await eventually(
            lambda: dead_letters(sessionmaker),
            lambda found: len(found) == 4,
            within=20,
            what="four dead letters",
        )
    # Keyed by the raw text or the first argument: the worker handles them concurrently.
    by_key = {letter.raw or letter.args[0]: letter for letter in letters}
    assert {key: (letter.reason, letter.task_name) for key, letter in by_key.items()} == {
        "\\x00 not json at all\\xff": (DeadLetterReason.UNDECODABLE, None),
        1: (DeadLetterReason.UNKNOWN_TASK, "tests.delivery.no_such_task"),
        "wrong\\x00": (DeadLetterReason.BAD_ARGUMENTS, "tests.delivery.stamp"),
        "extra": (DeadLetterReason.BAD_ARGUMENTS, "tests.delivery.stamp"),
    }
    assert by_key[1].args == [1, 2]
    assert "'n'" in by_key["wrong\\x00"].error
    assert "too many positional arguments" in by_key["extra"].error
    # Nothing ran but the good tasks; everything was acknowledged; the same processes live on.
    assert [s for name in ("wrong\x00", "extra") for s in starts(sync_redis, settings, name)] == []
    wait_until(stream.idle, within=10, what="stream idle")
    assert worker.alive_pids() == pids
