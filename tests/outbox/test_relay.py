"""The relay against real PostgreSQL and Redis: two relays at once send each row once, rows of
an aggregate in the order they were written, and cleanup keeps the table bounded without
touching what is unsent. The idempotency marker commits and rolls back with the task's writes."""

import asyncio
import random
import uuid
from collections import defaultdict
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from taskiq import AsyncBroker
from taskiq_durable import first_processing
from taskiq_durable.outbox.relay import cleanup, relay_once
from taskiq_durable.outbox.table import OutboxRow, ProcessedMessage

from core.settings import Settings
from tests.outbox.conftest import stream_task_ids
from tests.outbox.tasks_for_outbox import effect

Sessions = async_sessionmaker[AsyncSession]
AGGREGATES = [f"order-{n}" for n in range(5)]


async def write_unsent(sessions: Sessions, count: int, *, ordered: bool) -> list[OutboxRow]:
    """`count` outbox rows as a commit writes them, before any send (seq: insert order)."""
    rows = [
        OutboxRow(
            id=uuid.uuid4(),
            task_name=effect.task_name,
            args=[str(uuid.uuid4())],
            kwargs={},
            labels={},
            aggregate=random.choice(AGGREGATES) if ordered else None,
        )
        for _ in range(count)
    ]
    async with sessions.begin() as session:
        for row in rows:
            session.add(row)
            if ordered:  # one flush each: seq follows this list
                await session.flush()
    return rows


async def relay_until_empty(engine: AsyncEngine, broker: AsyncBroker) -> int:
    sent = 0
    while (batch := await relay_once(engine, broker, delay=timedelta(0), batch=50)) > 0:
        sent += batch
    return sent


async def two_relays(settings: Settings, broker: AsyncBroker) -> list[int]:
    """Two relays, each with its own engine (own connections), running at once to the end."""
    engines = [create_async_engine(settings.database_url, pool_size=2) for _ in range(2)]
    try:
        return list(await asyncio.gather(*(relay_until_empty(e, broker) for e in engines)))
    finally:
        for engine in engines:
            await engine.dispose()


async def test_two_relays_at_once_send_every_row_once(
    settings: Settings, sessions: Sessions, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    rows = await write_unsent(sessions, 1000, ordered=False)
    counts = await two_relays(settings, client_broker)
    sent = await stream_task_ids(redis_client, settings)
    assert sorted(sent) == sorted(row.id.hex for row in rows)  # each once, none missing
    assert sum(counts) == 1000
    assert min(counts) > 0, counts  # both really took part


async def test_rows_of_an_aggregate_reach_the_stream_in_write_order(
    settings: Settings, sessions: Sessions, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    rows = await write_unsent(sessions, 600, ordered=True)
    await two_relays(settings, client_broker)
    position = {
        task_id: n for n, task_id in enumerate(await stream_task_ids(redis_client, settings))
    }
    assert len(position) == 600
    by_aggregate: dict[str, list[int]] = defaultdict(list)
    for row in rows:  # in write order
        assert row.aggregate is not None
        by_aggregate[row.aggregate].append(position[row.id.hex])
    for aggregate, positions in by_aggregate.items():
        assert positions == sorted(positions), aggregate


async def test_cleanup_deletes_old_sent_rows_and_markers_never_unsent_ones(
    sessions: Sessions, engine: AsyncEngine
) -> None:
    old_sent, old_unsent, fresh_sent = await write_unsent(sessions, 3, ordered=False)
    async with sessions.begin() as session:
        two_days_ago = func.now() - timedelta(days=2)
        for row, sent_at in ((old_sent, two_days_ago), (fresh_sent, func.now())):
            await session.execute(
                update(OutboxRow).where(OutboxRow.id == row.id).values(sent_at=sent_at)
            )
        await session.execute(
            update(OutboxRow).where(OutboxRow.id == old_unsent.id).values(created_at=two_days_ago)
        )
        assert await first_processing(session, "old-message")
        assert await first_processing(session, "new-message")
        await session.execute(
            update(ProcessedMessage)
            .where(ProcessedMessage.message_id == "old-message")
            .values(processed_at=two_days_ago)
        )
    assert await cleanup(engine, retention=timedelta(days=1)) == 2
    async with sessions() as session:
        left = set(await session.scalars(select(OutboxRow.id)))
        marks = set(await session.scalars(select(ProcessedMessage.message_id)))
    assert left == {old_unsent.id, fresh_sent.id}
    assert marks == {"new-message"}


async def test_the_marker_commits_and_rolls_back_with_the_tasks_writes(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await first_processing(session, "m-1")
        await session.execute(text("INSERT INTO outbox_jobs (id) VALUES (gen_random_uuid())"))
        await session.rollback()  # the task failed: neither its write nor its marker stays
    async with sessions.begin() as session:
        assert await first_processing(session, "m-1")
    async with sessions.begin() as session:
        assert not await first_processing(session, "m-1")  # a redelivery: skip the effects
        assert await session.scalar(text("SELECT count(*) FROM outbox_jobs")) == 0
