"""Canvas on a real worker: chain + on_error, and a chord that needs no waiting slot and calls
back once however often its members are delivered."""

from functools import partial

import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker
from taskiq_durable.calling import apply_async
from taskiq_durable.canvas import apply_chain, apply_chord, batched, si, sig
from taskiq_durable.canvas.chord import CHORD

from core.settings import Settings
from tests.conftest import StartProcess
from tests.patterns import tasks_for_tests as t
from tests.patterns.conftest import recorded, start_worker, until

WITHIN = 60.0


async def drain(broker: AsyncBroker) -> None:
    """Wait until everything kicked so far ran, on a one-slot worker: two tasks in a row,
    the second kicked after the first finished, so it queues behind any kick the first saw."""
    for _ in range(2):
        await (await sig(t.add, 0, 0).kiq(broker)).wait_result(timeout=WITHIN)


@pytest.mark.e2e
async def test_chain_passes_results_and_a_failing_step_reaches_on_error(
    start: StartProcess, settings: Settings, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    start_worker(start, concurrency=2)
    done = await apply_chain(
        client_broker, sig(t.add, 2, 3), sig(t.mul, factor=10), sig(t.add, y=1)
    )
    assert (await done.wait_result(timeout=WITHIN)).return_value == 51

    on_error = sig(t.record, name="chain-errors")
    broken = await apply_chain(
        client_broker,
        sig(t.add, 1, 1),
        sig(t.fail),
        sig(t.record, name="after-failure"),
        on_error=on_error,
    )
    failures = await until(
        lambda: recorded(redis_client, settings, "chain-errors"), within=WITHIN, what="on_error"
    )
    assert [(f["task_name"], f["error"]) for f in failures] == [("test.fail", "refusing 2")]
    # The chain's handle (its last step) reports the failure; the step after never ran.
    assert (await broken.wait_result(timeout=WITHIN)).is_err
    await drain(client_broker)
    assert await recorded(redis_client, settings, "after-failure") == []
    assert len(await recorded(redis_client, settings, "chain-errors")) == 1


@pytest.mark.e2e
async def test_chord_on_one_slot_calls_back_once_despite_redelivery(
    start: StartProcess, settings: Settings, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    # One child, one task at a time: a callback waiting in a slot would deadlock the chord.
    start_worker(start, concurrency=1)
    items = list(range(1, 21))
    header = [sig(t.sum_batch, batch) for batch in batched(items, 3)]
    chord = await apply_chord(
        client_broker, redis_client, settings.durable(), header, sig(t.record, name="chord")
    )
    # Redelivery, simulated: the first member's message again, same id and labels, at once.
    await header[0].kiq(
        client_broker, task_id=chord.group.member_ids[0], **{CHORD: chord.group.group_id}
    )

    callbacks = await until(
        lambda: recorded(redis_client, settings, "chord"), within=WITHIN, what="the callback"
    )
    assert callbacks == [[sum(b) for b in batched(items, 3)]]
    assert (await chord.callback_task(client_broker).wait_result(timeout=WITHIN)).return_value == [
        6,
        15,
        24,
        33,
        42,
        51,
        39,
    ]
    # And the last member again, after the callback ran.
    await header[-1].kiq(
        client_broker, task_id=chord.group.member_ids[-1], **{CHORD: chord.group.group_id}
    )
    await drain(client_broker)
    assert len(await recorded(redis_client, settings, "batches")) == len(header) + 2
    assert len(await recorded(redis_client, settings, "chord")) == 1

    # A member that fails: the chord's on_error, once; the callback never.
    failing = await apply_chord(
        client_broker,
        redis_client,
        settings.durable(),
        [sig(t.add, 1, 2), sig(t.fail, "x"), sig(t.fail, "y")],
        sig(t.record, name="never"),
        on_error=sig(t.record, name="chord-errors"),
    )
    await until(
        lambda: recorded(redis_client, settings, "chord-errors"), within=WITHIN, what="on_error"
    )
    await drain(client_broker)
    errors = await recorded(redis_client, settings, "chord-errors")
    assert [e["task_name"] for e in errors] == ["test.fail"]
    assert errors[0]["task_id"] in failing.group.member_ids[1:]
    assert await recorded(redis_client, settings, "never") == []

    # An empty header: the callback at once, with an empty list of results.
    empty = await apply_chord(
        client_broker, redis_client, settings.durable(), [], sig(t.record, name="empty")
    )
    assert (await empty.callback_task(client_broker).wait_result(timeout=WITHIN)).return_value == []
    assert await recorded(redis_client, settings, "empty") == [[]]


@pytest.mark.e2e
async def test_a_retried_chain_step_is_the_same_step(
    start: StartProcess, settings: Settings, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    """Retries compose with a chain: the retried middle step continues the chain with its
    result; one that runs out of attempts fires the chain's on_error once, with its last error."""
    start_worker(start, concurrency=2)
    done = await apply_chain(
        client_broker,
        sig(t.add, 2, 3),
        sig(t.flaky_mul, factor=10, name="twice", fails=2),
        sig(t.add, y=1),
    )
    assert (await done.wait_result(timeout=WITHIN)).return_value == 51
    assert await recorded(redis_client, settings, "twice") == [1, 2, 3]

    on_error = sig(t.record, name="exhausted-errors")
    broken = await apply_chain(
        client_broker,
        sig(t.add, 1, 1),
        sig(t.flaky_mul, factor=10, name="always", fails=99),
        sig(t.record, name="after-exhaustion"),
        on_error=on_error,
    )
    assert (await broken.wait_result(timeout=WITHIN)).is_err
    failures = await until(
        lambda: recorded(redis_client, settings, "exhausted-errors"),
        within=WITHIN,
        what="the chain's on_error",
    )
    await drain(client_broker)
    assert await recorded(redis_client, settings, "always") == [1, 2, 3]
    assert [(f["task_name"], f["error_type"], f["error"]) for f in failures] == [
        ("test.flaky_mul", "ConnectionError", "always: attempt 3 fails")
    ]
    assert await recorded(redis_client, settings, "exhausted-errors") == failures
    assert await recorded(redis_client, settings, "after-exhaustion") == []


@pytest.mark.e2e
async def test_immutable_signatures_receive_only_their_own_arguments(
    start: StartProcess, settings: Settings, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    """Celery's `.si()` in a chain, a chord body, link and link_error."""
    start_worker(start, concurrency=2)
    done = await apply_chain(
        client_broker, sig(t.add, 2, 3), si(t.add, x=10, y=20), sig(t.mul, factor=2)
    )
    assert (await done.wait_result(timeout=WITHIN)).return_value == 60

    chord = await apply_chord(
        client_broker,
        redis_client,
        settings.durable(),
        [sig(t.add, 1, 1), sig(t.add, 2, 2)],
        si(t.record, "body only", name="si-chord"),
    )
    await chord.callback_task(client_broker).wait_result(timeout=WITHIN)
    linked = await apply_async(
        t.add, (1, 2), link=si(t.record, "linked", name="si-link"), broker=client_broker
    )
    failed = await apply_async(
        t.fail, ("x",), link_error=si(t.record, "errored", name="si-errors"), broker=client_broker
    )
    await linked.wait_result(timeout=WITHIN)
    await failed.wait_result(timeout=WITHIN)
    for name, only in (("si-chord", "body only"), ("si-link", "linked"), ("si-errors", "errored")):
        got = await until(partial(recorded, redis_client, settings, name), within=WITHIN, what=name)
        assert got == [only]
