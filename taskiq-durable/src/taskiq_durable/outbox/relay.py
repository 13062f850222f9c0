"""The recovery path: a loop that sends every outbox row still unsent after a short delay.

    relay = OutboxRelay(engine, broker, delay=5.0, retention=timedelta(hours=24))
    await exit_stack.enter_async_context(relay.running())   # in a worker child's startup hook

Rows younger than `delay` belong to the fast path (sent right after their commit), so the relay
does not race it for fresh rows. Any number of relays may run (one per worker child): rows are
claimed with `FOR UPDATE SKIP LOCKED` and aggregates under an advisory lock
(taskiq_durable.outbox.send), so two relays never send one row. A send the stream refuses
(Redis down) is given back and the relay backs off, logging once per outage.

The relay also keeps the tables bounded: sent rows and processed-message markers older than
`retention` are deleted, a bounded batch at a time. Unsent rows are never deleted.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import delete, func, literal, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from taskiq import AsyncBroker

from taskiq_durable.outbox.send import (
    SendFailed,
    claim_due,
    drain_aggregate,
    due_aggregates,
    send_claimed,
)
from taskiq_durable.outbox.table import outbox_table, processed_table

__all__ = ["OutboxRelay", "cleanup", "relay_once"]

logger = logging.getLogger(__name__)


# Rows one relay claims per transaction; a full batch means more are waiting: no sleep.
BATCH = 200
# How often an idle relay looks for due rows: one query on a partial index of unsent rows.
POLL_SECONDS = 1.0
# After a failed pass the relay waits this long, doubling up to the cap.
BACKOFF_SECONDS, BACKOFF_CAP_SECONDS = 0.5, 5.0
# Cleanup runs this often, deleting at most this many rows per table per statement.
CLEANUP_SECONDS, CLEANUP_BATCH = 60.0, 5000


async def relay_once(
    engine: AsyncEngine, broker: AsyncBroker, *, delay: timedelta, batch: int = BATCH
) -> int:
    """One pass: send due rows (plain ones, then aggregates in order); the number sent.

    Raises SendFailed when the stream refuses (the unsent rows were given back)."""
    async with engine.begin() as conn:
        rows = await claim_due(conn, delay=delay, limit=batch)
        outcome = await send_claimed(conn, broker, rows, ordered=False)
    sent = outcome.count
    if outcome.error is not None:
        raise SendFailed(repr(outcome.error)) from outcome.error
    async with engine.connect() as conn:
        keys = await due_aggregates(conn, delay=delay, limit=batch)
    for key in keys:
        outcome = await drain_aggregate(engine, broker, key, batch)
        sent += outcome.count
        if outcome.error is not None:
            raise SendFailed(repr(outcome.error)) from outcome.error
    return sent


async def cleanup(engine: AsyncEngine, *, retention: timedelta, batch: int = CLEANUP_BATCH) -> int:
    """Delete sent rows and processed markers older than `retention`; the number deleted."""
    cutoff = func.now() - literal(retention)
    old_sent = (
        select(outbox_table.c.id)
        .where(outbox_table.c.sent_at < cutoff)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    old_marks = (
        select(processed_table.c.message_id)
        .where(processed_table.c.processed_at < cutoff)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    deleted = 0
    async with engine.begin() as conn:
        for statement in (
            delete(outbox_table).where(outbox_table.c.id.in_(old_sent)),
            delete(processed_table).where(processed_table.c.message_id.in_(old_marks)),
        ):
            deleted += (await conn.execute(statement)).rowcount
    return deleted


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        broker: AsyncBroker,
        *,
        delay: float,
        retention: timedelta,
        batch: int = BATCH,
    ) -> None:
        if delay < 0:
            raise ValueError("the relay delay can't be negative")
        if retention <= timedelta(0):
            raise ValueError("the outbox retention must be positive")
        self._engine = engine
        self._broker = broker
        self._delay = timedelta(seconds=delay)
        self._retention = retention
        self._batch = batch

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The relay as a background task of the current loop, cancelled on exit."""
        task = asyncio.create_task(self.run(), name="outbox-relay")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """Until cancelled."""
        backoff = BACKOFF_SECONDS
        failing_since: float | None = None
        next_cleanup = time.monotonic()
        while True:
            try:
                sent = await relay_once(
                    self._engine, self._broker, delay=self._delay, batch=self._batch
                )
                if time.monotonic() >= next_cleanup:
                    await cleanup(self._engine, retention=self._retention)
                    next_cleanup = time.monotonic() + CLEANUP_SECONDS
            except (SendFailed, SQLAlchemyError, OSError) as exc:
                if failing_since is None:
                    failing_since = time.monotonic()
                    logger.warning("outbox relay: cannot send (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_CAP_SECONDS)
                continue
            if failing_since is not None:
                logger.warning(
                    "outbox relay: sending again after %.1fs", time.monotonic() - failing_since
                )
                failing_since, backoff = None, BACKOFF_SECONDS
            if sent < self._batch:
                await asyncio.sleep(POLL_SECONDS)
