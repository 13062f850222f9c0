"""A poison message (here: a task that SIGKILLs its own worker child every time) runs at most
MAX_DELIVERIES times, then becomes a dead letter and is acknowledged; the worker goes on, its
neighbours run once, retries are not counted as deliveries, and a replay kicks it again.

One worker child that runs one message at a time: a child killed by the poison message then
holds nothing else, so "ran once" is exact for its neighbours (a message in flight beside it
would be redelivered, which is test_kill_recovery.py's subject). Timings print with `pytest -s`.
"""

import json
import time

from redis import Redis as SyncRedis
from taskiq import AsyncBroker
from taskiq_durable.dead_letters import DeadLetterReason
from taskiq_durable.dead_letters.sql import DeadLetterRow as DeadLetter
from taskiq_durable.dead_letters.sql import replay

from core.settings import Settings
from tests.delivery.conftest import StartWorker, StreamView, run_counts, warm_up
from tests.delivery.retry_support import (
    database,
    dead_letters,
    eventually,
    retry_worker_command,
    starts,
)
from tests.delivery.tasks_for_retries import flaky
from tests.delivery.tasks_for_tests import crash, touch
from tests.support.processes import wait_until

MAX_DELIVERIES = 2
FLAKY_ATTEMPTS = 4  # flaky's max_attempts: more retries than MAX_DELIVERIES


def by_reason(letters: list[DeadLetter]) -> dict[DeadLetterReason, DeadLetter]:
    return {letter.reason: letter for letter in letters}


async def test_poison_message_becomes_a_dead_letter_and_the_worker_goes_on(
    settings: Settings,
    start_worker: StartWorker,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    stream: StreamView,
) -> None:
    worker = start_worker(
        retry_worker_command(),
        WORKER_PROCESSES="1",
        WORKER_CONCURRENCY="1",
        MAX_DELIVERIES=str(MAX_DELIVERIES),
        REDELIVERY_TIMEOUT_SECONDS="1",
        RECLAIM_INTERVAL_SECONDS="0.3",
    )
    await warm_up(client_broker, sync_redis, settings)
    kicked = time.monotonic()
    await crash.kicker().with_broker(client_broker).kiq("poison")
    await touch.kicker().with_broker(client_broker).kiq("alongside")
    # Fails every attempt; its retries are new stream entries, each delivered once.
    await flaky.kicker().with_broker(client_broker).with_labels(retry_base=0.05).kiq("retried")

    async with database(settings) as sessionmaker:
        letters = await eventually(
            lambda: dead_letters(sessionmaker),
            lambda found: len(found) == 2,
            within=120,
            what="the poison and the exhausted dead letters",
        )
        print(f"\npoison dead-lettered {time.monotonic() - kicked:.1f}s after its kick")
        poison = by_reason(letters)[DeadLetterReason.POISON]
        assert (poison.task_name, poison.args, poison.attempts) == (
            "tests.delivery.crash",
            ["poison"],
            MAX_DELIVERIES,
        )
        assert poison.error == (
            f"poison: delivered {MAX_DELIVERIES + 1} times without completing"
            f" (MAX_DELIVERIES={MAX_DELIVERIES})"
        )
        exhausted = by_reason(letters)[DeadLetterReason.EXHAUSTED]
        assert (exhausted.task_name, exhausted.attempts) == ("tests.delivery.flaky", FLAKY_ATTEMPTS)
        assert len(starts(sync_redis, settings, "retried")) == FLAKY_ATTEMPTS

        wait_until(stream.idle, within=20, what="nothing pending or undelivered")
        assert run_counts(sync_redis, settings) == {
            "warm-up": 1,
            "poison": MAX_DELIVERIES,
            "alongside": 1,
        }
        assert worker.popen.poll() is None  # the same `taskiq worker` main process throughout
        assert worker.log().count("dead-lettered message for 'tests.delivery.crash'") == 1

        # Stopped first, so the replayed message stays in the stream to be looked at.
        worker.stop()
        async with sessionmaker.begin() as session:
            replayed = await replay(session, client_broker, poison.id)
    assert stream.lag() == 1
    last = stream.redis.xrevrange(stream.stream, count=1)
    assert last
    ((_id, fields),) = last
    assert fields is not None
    message = json.loads(fields["data"])
    assert (message["task_name"], message["task_id"], message["args"]) == (
        "tests.delivery.crash",
        replayed.replay_task_id,
        ["poison"],
    )
