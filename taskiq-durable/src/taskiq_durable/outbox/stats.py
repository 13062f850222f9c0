"""What an operator asks of the outbox: how many kicks wait, and for how long the oldest has."""

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import extract, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from taskiq_durable.outbox.table import outbox_table

__all__ = ["OutboxStats", "outbox_stats"]


@dataclass(frozen=True, slots=True)
class OutboxStats:
    unsent: int
    # Seconds since the oldest unsent row was written; None when nothing waits.
    oldest_unsent_seconds: float | None
    # Unsent rows a send was already refused for (the stream was down, or refused them).
    refused: int
    # Sent rows kept until the retention passes.
    sent_kept: int

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


async def outbox_stats(db: AsyncSession | AsyncConnection) -> OutboxStats:
    unsent = outbox_table.c.sent_at.is_(None)
    query = select(
        func.count().filter(unsent),
        extract("epoch", func.now() - func.min(outbox_table.c.created_at).filter(unsent)),
        func.count().filter(unsent, outbox_table.c.attempts > 0),
        func.count().filter(outbox_table.c.sent_at.is_not(None)),
    )
    count, oldest, refused, kept = (await db.execute(query)).one()
    return OutboxStats(
        unsent=count,
        oldest_unsent_seconds=None if oldest is None else max(0.0, float(oldest)),
        refused=refused,
        sent_kept=kept,
    )
