"""The outbox's tables (the `sql` extra): kicks waiting to be sent, and messages already processed.

Both belong to this module's own `metadata`, so a service's Alembic environment lists it beside
its own tables (`target_metadata = [Base.metadata, taskiq_durable.outbox.table.metadata]`) and
its migrations create them, as for the dead letters.
"""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["OutboxRow", "ProcessedMessage", "metadata", "outbox_table", "processed_table"]

metadata = MetaData()


class _Base(DeclarativeBase):
    metadata = metadata


class OutboxRow(_Base):
    """One kick, written in the caller's transaction; `sent_at` is set once it is on the stream.

    `id` is the task id of the message, so a row sent twice (a crash between the send and the
    write of `sent_at`) arrives as the same task and the consumer recognises it.
    """

    __tablename__ = "task_outbox"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Insert order: rows of one aggregate are sent in this order.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    task_name: Mapped[str] = mapped_column(String(200))
    args: Mapped[list[Any]] = mapped_column(JSONB)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    labels: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Rows sharing a key are sent in `seq` order, one sender at a time; NULL: no order needed.
    aggregate: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Failed send attempts and the last error, for an operator looking at a stuck row.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # What the relay and the stats read: only unsent rows, so the index stays small.
        Index("ix_task_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL")),
        Index("ix_task_outbox_sent_at", "sent_at"),
    )


class ProcessedMessage(_Base):
    """A message id whose effects are committed (taskiq_durable.outbox.idempotency)."""

    __tablename__ = "processed_messages"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


# The Core tables, for the statements that need no ORM objects (senders, relay, stats).
outbox_table = cast(Table, OutboxRow.__table__)
processed_table = cast(Table, ProcessedMessage.__table__)
