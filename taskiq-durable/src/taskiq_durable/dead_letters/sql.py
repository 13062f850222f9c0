"""Dead letters in a SQL database (the `sql` extra): the table, the store, listing and replay.

The table belongs to this module's own `metadata`, so a service's Alembic environment lists it
beside its own tables (`target_metadata = [Base.metadata, taskiq_durable.dead_letters.sql.
metadata]`) and its migrations create it; docs/adopting.md shows both.

The store writes through a sessionmaker the service builds per process, at startup, and binds:
`store.bind(sessionmaker)` in the worker's startup hook.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, String, Text, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import JSON
from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker

from taskiq_durable.connections import started
from taskiq_durable.dead_letters.letters import DeadLetter, DeadLetterReason
from taskiq_durable.dead_letters.store import replay_labels
from taskiq_durable.durable_broker import durable_broker

__all__ = [
    "DeadLetterRow",
    "NotReplayable",
    "SqlDeadLetterStore",
    "list_letters",
    "metadata",
    "recent",
    "replay",
]

metadata = MetaData()

# JSONB on PostgreSQL, JSON elsewhere.
_JSON = JSON().with_variant(JSONB(), "postgresql")


class _Base(DeclarativeBase):
    metadata = metadata


class DeadLetterRow(_Base):
    """A stored dead letter, with what replaying it did."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    task_name: Mapped[str | None] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(64), index=True)
    args: Mapped[list[Any]] = mapped_column(_JSON)
    kwargs: Mapped[dict[str, Any]] = mapped_column(_JSON)
    labels: Mapped[dict[str, Any]] = mapped_column(_JSON)
    # Stored as text, not a database enum, so a new reason needs no migration.
    reason: Mapped[DeadLetterReason] = mapped_column(
        Enum(DeadLetterReason, native_enum=False, length=32, validate_strings=True)
    )
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    raw: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replay_task_id: Mapped[str | None] = mapped_column(String(64))

    @classmethod
    def of(cls, letter: DeadLetter) -> "DeadLetterRow":
        return cls(
            task_name=letter.task_name,
            task_id=letter.task_id,
            args=letter.args,
            kwargs=letter.kwargs,
            labels=letter.labels,
            reason=letter.reason,
            error=letter.error,
            traceback=letter.traceback,
            attempts=letter.attempts,
            raw=letter.raw,
        )


class NotReplayable(Exception):
    """The letter has no task to run (undecodable) or was replayed already."""


class SqlDeadLetterStore:
    """`DeadLetterStore` over the `dead_letters` table."""

    def __init__(self) -> None:
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None

    def bind(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Write through `sessionmaker` (this process's, built by its startup hook)."""
        self._sessionmaker = sessionmaker

    async def record(self, letter: DeadLetter) -> None:
        sessionmaker = started(self._sessionmaker, "the SQL dead-letter store (bind it first)")
        async with sessionmaker.begin() as session:
            session.add(DeadLetterRow.of(letter))


async def list_letters(
    session: AsyncSession,
    *,
    limit: int = 50,
    before_id: int | None = None,
    reason: DeadLetterReason | None = None,
) -> Sequence[DeadLetterRow]:
    """Newest first; `before_id` pages backwards."""
    query = select(DeadLetterRow).order_by(DeadLetterRow.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(DeadLetterRow.id < before_id)
    if reason is not None:
        query = query.where(DeadLetterRow.reason == reason)
    return (await session.scalars(query)).all()


async def replay(session: AsyncSession, broker: AsyncBroker, letter_id: int) -> DeadLetterRow:
    """Kick the letter's task again, under its own task id; the caller commits.

    The row stays locked until the caller's commit, so two concurrent replays kick once. The
    task id's stored outcome (the dead letter's) is deleted before the kick, so waiters and
    status readers see PENDING and then the replay's outcome, never the old one after it.
    """
    letter = await session.get(DeadLetterRow, letter_id, with_for_update=True)
    if letter is None:
        raise LookupError(f"dead letter {letter_id} not found")
    if letter.task_name is None:
        raise NotReplayable(f"dead letter {letter_id} was undecodable: nothing to run")
    if letter.replayed_at is not None:
        raise NotReplayable(
            f"dead letter {letter_id} was replayed at {letter.replayed_at.isoformat()}"
            f" as task {letter.replay_task_id}"
        )
    kicker: AsyncKicker[..., object] = AsyncKicker(
        letter.task_name, broker, replay_labels(letter.labels)
    )
    if letter.task_id is not None:
        await durable_broker(broker).results.forget(letter.task_id)
        kicker = kicker.with_task_id(letter.task_id)
    task = await kicker.kiq(*letter.args, **letter.kwargs)
    letter.replayed_at, letter.replay_task_id = datetime.now(UTC), task.task_id
    return letter


async def recent(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest dead letters as short rows, for inspect tables."""
    async with sessionmaker() as session:
        letters = await list_letters(session, limit=limit)
    return [
        {
            "id": letter.id,
            "created_at": letter.created_at.isoformat(timespec="seconds"),
            "reason": letter.reason.value,
            "task": letter.task_name,
            "task_id": letter.task_id,
            "attempts": letter.attempts,
            "error": letter.error[:120],
        }
        for letter in letters
    ]
