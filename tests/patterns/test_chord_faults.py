"""A chord's callback runs exactly once when the member completing it is SIGKILLed at any point
of its completion path: after its result is stored, after it completed the set of finished
members, after it kicked the callback (before it marked the chord fired). The member's
message is redelivered to the other worker child, which completes the chord again; a second
kick of the callback is acknowledged unrun (taskiq_durable.canvas.once)."""

import asyncio
import json
import os
import random
import signal
from dataclasses import replace
from functools import partial

import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker
from taskiq_durable.canvas import apply_chord, sig
from taskiq_durable.canvas.once import first_kick, once_labels

from core.settings import Settings
from tests.conftest import StartProcess
from tests.patterns import tasks_for_tests as t
from tests.patterns.conftest import recorded, start_worker, until

RUNS = 20
POINTS = ("finished", "counted", "kicked")
WITHIN = 90.0
REDELIVERY_TIMEOUT = 2.0


# 20 SIGKILLs, each waiting for a redelivery (and, when both children were hit in a row, for a
# child restart) on a loaded 2-core machine.
@pytest.mark.e2e
@pytest.mark.timeout(900)
async def test_chord_callback_once_when_the_completing_member_is_killed(
    start: StartProcess, settings: Settings, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    start_worker(
        start,
        concurrency=4,
        WORKER_PROCESSES="2",
        REDELIVERY_TIMEOUT_SECONDS=str(REDELIVERY_TIMEOUT),
        RECLAIM_INTERVAL_SECONDS="0.5",
    )
    points = [random.choice(POINTS) for _ in range(RUNS)]
    for run, point in enumerate(points):
        member = sig(t.add, run, 1)
        member = replace(member, labels={**member.labels, t.FAULT_AT: point})
        await apply_chord(
            client_broker,
            redis_client,
            settings.durable(),
            [member],
            sig(t.record, name=f"callback-{run}"),
        )
        paused = await until(
            partial(redis_client.lpop, settings.key("test", "paused")),
            within=WITHIN,
            what=f"run {run}'s member at {point!r}",
        )
        where = json.loads(paused)
        assert where["point"] == point
        os.kill(where["pid"], signal.SIGKILL)
        calls = await until(
            partial(recorded, redis_client, settings, f"callback-{run}"),
            within=WITHIN,
            what=f"run {run}'s callback (killed at {point!r})",
        )
        assert calls == [[run + 1]], (run, point)
        print(f"run {run}: killed at {point!r}, callback once")  # the log of a long test
    # Never twice: later redeliveries and second kicks have had time to run.
    await asyncio.sleep(3 * REDELIVERY_TIMEOUT)
    counts = [len(await recorded(redis_client, settings, f"callback-{run}")) for run in range(RUNS)]
    assert counts == [1] * RUNS, list(zip(points, counts, strict=True))


async def test_a_run_once_message_runs_for_its_first_kick_only(
    settings: Settings, redis_client: Redis
) -> None:
    config = settings.durable()
    first, second = once_labels("chord-1"), once_labels("chord-1")
    assert await first_kick(redis_client, config, first)
    assert await first_kick(redis_client, config, first)  # its redelivery runs too
    assert not await first_kick(redis_client, config, second)
    assert await first_kick(redis_client, config, once_labels("chord-2"))
    assert await first_kick(redis_client, config, {"queue_name": "x"})  # not run-once
