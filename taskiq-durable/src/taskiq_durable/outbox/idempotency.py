"""Exactly-once effects for at-least-once messages: record "done" in the task's own transaction.

    @broker.task
    async def apply_payment(payment_id: str, context: Context = TaskiqDepends(),
                            session: Session = TaskiqDepends()) -> None:
        if not await first_processing(session, context.message.task_id):
            return                     # this message's effects are already committed
        ...                            # the task's writes, in the same transaction

The marker is a `processed_messages` row inserted with ON CONFLICT DO NOTHING in the caller's
transaction: it commits with the task's writes or rolls back with them, so a redelivered or
twice-relayed message (same task id: an outbox row's id) changes the database once. A duplicate
running at the same moment waits on the first one's uncommitted marker, then sees it.
Markers are deleted after the outbox retention (taskiq_durable.outbox.relay.cleanup).
"""

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from taskiq_durable.outbox.table import ProcessedMessage

__all__ = ["first_processing"]

# ProcessedMessage.message_id's length.
MAX_ID_CHARS = 64


async def first_processing(session: AsyncSession, message_id: str) -> bool:
    """True when `message_id` was not processed before (go on: the caller commits the marker
    with its writes); False when its effects are already committed (skip them)."""
    if not message_id or len(message_id) > MAX_ID_CHARS:
        raise ValueError(f"a message id has 1 to {MAX_ID_CHARS} characters, got {message_id!r}")
    marked = await session.execute(
        insert(ProcessedMessage)
        .values(message_id=message_id)
        .on_conflict_do_nothing(index_elements=[ProcessedMessage.message_id])
        .returning(ProcessedMessage.message_id)
    )
    return marked.first() is not None
