"""Claiming outbox rows and sending them: what the fast path and the relay share.

A sender claims rows by setting `sent_at` in its own transaction (row locks, `SKIP LOCKED`, so
two senders never claim one row), sends them in `seq` order, gives back what it could not send
(`sent_at` NULL again, `attempts` + 1) and commits. A crash after a send and before the commit
leaves the row unsent, and it is sent again: the same task id, which the consumer recognises
(taskiq_durable.outbox.idempotency).

Rows of an aggregate are sent only under the aggregate's advisory lock, all of its unsent rows
in `seq` order, so one aggregate has one sender at a time and its messages reach the stream in
the order they were written.
"""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, literal, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker

from taskiq_durable.outbox.table import outbox_table

__all__ = ["SendFailed", "claim_due", "drain_aggregate", "send_claimed", "send_ids"]

# The first key of the two-key advisory lock form: the outbox's own namespace, so an aggregate's
# lock never collides with a service's own `pg_advisory_lock(<bigint>)` calls.
_LOCK_CLASS = 0x7D0B0C5  # "taskiq-durable outbox"
_LAST_ERROR_CHARS = 2000
# Sends of rows without an aggregate in flight at once: their order does not matter.
SEND_CONCURRENCY = 20


class SendFailed(Exception):
    """The stream refused a send; the rows not sent are unclaimed and wait for the relay."""


@dataclass(frozen=True, slots=True)
class Sent:
    count: int
    error: BaseException | None = None


def _claim(picked: Select[tuple[uuid.UUID]]) -> Any:
    """UPDATE ... SET sent_at = now() for the rows `picked` selects (and locks)."""
    return (
        update(outbox_table)
        .where(outbox_table.c.id.in_(picked))
        .values(sent_at=func.now())
        .returning(
            outbox_table.c.id,
            outbox_table.c.seq,
            outbox_table.c.task_name,
            outbox_table.c.args,
            outbox_table.c.kwargs,
            outbox_table.c.labels,
        )
    )


def _unsent() -> Select[tuple[uuid.UUID]]:
    return select(outbox_table.c.id).where(outbox_table.c.sent_at.is_(None))


async def _send_one(broker: AsyncBroker, row: Row[Any]) -> BaseException | None:
    kicker: AsyncKicker[..., Any] = AsyncKicker(row.task_name, broker, dict(row.labels))
    try:
        await kicker.with_task_id(row.id.hex).kiq(*row.args, **row.kwargs)
    except Exception as exc:  # noqa: BLE001 - any refusal (broker, middleware): retried later
        return exc
    return None


async def send_claimed(
    conn: AsyncConnection, broker: AsyncBroker, rows: Sequence[Row[Any]], *, ordered: bool
) -> Sent:
    """Send claimed `rows`, in `seq` order one at a time when `ordered` (an aggregate's), else
    SEND_CONCURRENCY at once; stop at the first refusal and unclaim what was not sent."""
    pending = sorted(rows, key=lambda row: row.seq)
    step = 1 if ordered else SEND_CONCURRENCY
    unsent: list[uuid.UUID] = []
    error: BaseException | None = None
    for start in range(0, len(pending), step):
        chunk = pending[start : start + step]
        errors = await asyncio.gather(*(_send_one(broker, row) for row in chunk))
        unsent += [row.id for row, failed in zip(chunk, errors, strict=True) if failed]
        error = next((failed for failed in errors if failed is not None), None)
        if error is not None:
            unsent += [row.id for row in pending[start + step :]]
            break
    if error is not None:
        await conn.execute(
            update(outbox_table)
            .where(outbox_table.c.id.in_(unsent))
            .values(
                sent_at=None,
                attempts=outbox_table.c.attempts + 1,
                last_error=repr(error)[:_LAST_ERROR_CHARS],
            )
        )
    return Sent(len(rows) - len(unsent), error)


async def send_ids(engine: AsyncEngine, broker: AsyncBroker, ids: Sequence[uuid.UUID]) -> Sent:
    """The fast path for rows without an aggregate: claim those still unsent, send them."""
    picked = (
        _unsent()
        .where(outbox_table.c.id.in_(ids), outbox_table.c.aggregate.is_(None))
        .with_for_update(skip_locked=True)
    )
    async with engine.begin() as conn:
        rows = (await conn.execute(_claim(picked))).all()
        return await send_claimed(conn, broker, rows, ordered=False)


async def claim_due(conn: AsyncConnection, *, delay: timedelta, limit: int) -> Sequence[Row[Any]]:
    """Claim up to `limit` rows without an aggregate, unsent for longer than `delay`."""
    picked = (
        _unsent()
        .where(
            outbox_table.c.aggregate.is_(None),
            outbox_table.c.created_at <= func.now() - literal(delay),
        )
        .order_by(outbox_table.c.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await conn.execute(_claim(picked))).all()


async def due_aggregates(conn: AsyncConnection, *, delay: timedelta, limit: int) -> list[str]:
    """Aggregate keys with a row unsent for longer than `delay`."""
    query = (
        select(outbox_table.c.aggregate)
        .where(
            outbox_table.c.sent_at.is_(None),
            outbox_table.c.aggregate.is_not(None),
            outbox_table.c.created_at <= func.now() - literal(delay),
        )
        .group_by(outbox_table.c.aggregate)
        .order_by(func.min(outbox_table.c.seq))
        .limit(limit)
    )
    return [key for key in (await conn.scalars(query)) if key is not None]


async def drain_aggregate(engine: AsyncEngine, broker: AsyncBroker, key: str, limit: int) -> Sent:
    """Send up to `limit` unsent rows of aggregate `key` in `seq` order, unless another sender
    holds the aggregate (then it sends them)."""
    async with engine.begin() as conn:
        locked = await conn.scalar(
            select(func.pg_try_advisory_xact_lock(_LOCK_CLASS, func.hashtext(key)))
        )
        if not locked:
            return Sent(0)
        # Under the aggregate's lock no other sender touches its rows: no SKIP LOCKED here, a
        # skipped earlier row would let a later one overtake it.
        picked = (
            _unsent()
            .where(outbox_table.c.aggregate == key)
            .order_by(outbox_table.c.seq)
            .limit(limit)
            .with_for_update()
        )
        rows = (await conn.execute(_claim(picked))).all()
        return await send_claimed(conn, broker, rows, ordered=True)
