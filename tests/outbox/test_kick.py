"""The fast path and its refusals, in this process against real PostgreSQL and Redis: a commit
sends the kick at once under the row's id, a rollback sends nothing, bad input is refused
before anything is written, and a send the stream refuses waits for the relay."""

import json
import uuid
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker
from taskiq_durable import kick_after_commit, outbox_stats
from taskiq_durable.outbox.kick import wait_for_sends
from taskiq_durable.outbox.relay import relay_once
from taskiq_durable.outbox.table import OutboxRow

from core.settings import Settings
from tasks.broker import build_stack_broker
from tests.conftest import run_module
from tests.outbox.conftest import stream_task_ids
from tests.outbox.tasks_for_outbox import effect
from tests.support.processes import free_port

Sessions = async_sessionmaker[AsyncSession]


async def test_a_commit_sends_the_kick_at_once_under_the_row_id(
    sessions: Sessions, client_broker: AsyncBroker, redis_client: Redis, settings: Settings
) -> None:
    job = uuid.uuid4()
    async with sessions() as session:
        task = await kick_after_commit(session, effect.kicker().with_broker(client_broker), job)
        assert await stream_task_ids(redis_client, settings) == []  # nothing before the commit
        await session.commit()
    await wait_for_sends()
    assert await stream_task_ids(redis_client, settings) == [task.task_id]
    async with sessions() as session:
        row = await session.get(OutboxRow, uuid.UUID(hex=task.task_id))
        assert row is not None
        assert row.sent_at is not None
        assert row.args == [str(job)]
        assert row.attempts == 0


async def test_a_rollback_sends_nothing_ever(
    sessions: Sessions,
    engine: AsyncEngine,
    client_broker: AsyncBroker,
    redis_client: Redis,
    settings: Settings,
) -> None:
    async with sessions() as session:
        await kick_after_commit(session, effect.kicker().with_broker(client_broker), uuid.uuid4())
        await session.rollback()
        # The same session's next transaction commits other work: the rolled-back kick stays out.
        await session.commit()
    await wait_for_sends()
    assert await relay_once(engine, client_broker, delay=timedelta(0)) == 0
    assert await stream_task_ids(redis_client, settings) == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxRow)) == 0


async def test_bad_input_is_refused_before_anything_is_written(
    sessions: Sessions, client_broker: AsyncBroker
) -> None:
    kicker = effect.kicker().with_broker(client_broker)
    async with sessions() as session:
        with pytest.raises(TypeError, match="JSON-serialisable"):
            await kick_after_commit(session, kicker, object())  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="UUID in hex"):
            await kick_after_commit(session, kicker.with_task_id("import-7"), uuid.uuid4())
        with pytest.raises(ValueError, match="unknown queue 'nightly'"):
            await kick_after_commit(
                session,
                effect.kicker().with_broker(client_broker).with_labels(queue="nightly"),
                uuid.uuid4(),
            )
        assert not session.new


async def test_a_refused_send_waits_unsent_and_the_relay_sends_it(
    settings: Settings,
    sessions: Sessions,
    engine: AsyncEngine,
    client_broker: AsyncBroker,
    redis_client: Redis,
) -> None:
    # A broker whose Redis is not there: the commit succeeds, the send is refused.
    dead = build_stack_broker(
        settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    )
    tasks = []
    for _ in range(2):
        async with sessions() as session:
            kicker = effect.kicker().with_broker(dead)
            tasks.append(await kick_after_commit(session, kicker, uuid.uuid4()))
            await session.commit()
        await wait_for_sends()
    async with sessions() as session:
        first, second = [await session.get(OutboxRow, uuid.UUID(hex=t.task_id)) for t in tasks]
        assert first is not None
        assert second is not None
        assert (first.sent_at, first.attempts) == (None, 1)
        assert first.last_error
        # Right after a refusal the fast path stands aside: no connection held through a
        # second failing send; the relay has it.
        assert (second.sent_at, second.attempts) == (None, 0)
        stats = await outbox_stats(session)
    assert (stats.unsent, stats.refused) == (2, 1)
    code, out = await run_module(settings, "tasks.inspect", "outbox", "--json")
    assert code == 0
    (shown,) = json.loads(out)["outbox"]
    assert (shown["unsent"], shown["refused"]) == (2, 1)
    assert shown["oldest_unsent_seconds"] >= 0
    assert stats.oldest_unsent_seconds is not None
    # Younger than the delay: the relay leaves it to the fast path...
    assert await relay_once(engine, client_broker, delay=timedelta(hours=1)) == 0
    # ...older: it sends it, under the same task id.
    assert await relay_once(engine, client_broker, delay=timedelta(0)) == 2
    assert sorted(await stream_task_ids(redis_client, settings)) == sorted(t.task_id for t in tasks)
    async with sessions() as session:
        stats = await outbox_stats(session)
    assert (stats.unsent, stats.oldest_unsent_seconds, stats.sent_kept) == (0, None, 2)
