"""Storing, listing and replaying dead letters; the admin routes and the CLI call these."""

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker

from core.db.models import DeadLetter, DeadLetterReason
from tasks.backoff import RETRIES
from tasks.delayed import ETA
from tasks.rate_limit import RATE_SLOT

__all__ = ["NotReplayable", "list_letters", "record", "replay"]

# Delivery state of the failed run; a replay starts over with the full retry budget.
_RUN_LABELS = (RETRIES, ETA, RATE_SLOT)


class NotReplayable(Exception):
    """The letter has no task to run (undecodable) or was replayed already."""


async def record(sessionmaker: async_sessionmaker[AsyncSession], letter: DeadLetter) -> None:
    async with sessionmaker.begin() as session:
        session.add(letter)


async def list_letters(
    session: AsyncSession,
    *,
    limit: int = 50,
    before_id: int | None = None,
    reason: DeadLetterReason | None = None,
) -> Sequence[DeadLetter]:
    """Newest first; `before_id` pages backwards."""
    query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(DeadLetter.id < before_id)
    if reason is not None:
        query = query.where(DeadLetter.reason == reason)
    return (await session.scalars(query)).all()


async def replay(session: AsyncSession, broker: AsyncBroker, letter_id: int) -> DeadLetter:
    """Kick the letter's task again under a new task id; the caller commits.

    The row stays locked until the caller's commit, so two concurrent replays kick once.
    """
    letter = await session.get(DeadLetter, letter_id, with_for_update=True)
    if letter is None:
        raise LookupError(f"dead letter {letter_id} not found")
    if letter.task_name is None:
        raise NotReplayable(f"dead letter {letter_id} was undecodable: nothing to run")
    if letter.replayed_at is not None:
        raise NotReplayable(
            f"dead letter {letter_id} was replayed at {letter.replayed_at.isoformat()}"
            f" as task {letter.replay_task_id}"
        )
    labels = {k: v for k, v in letter.labels.items() if k not in _RUN_LABELS}
    kicker: AsyncKicker[..., object] = AsyncKicker(letter.task_name, broker, labels)
    task = await kicker.kiq(*letter.args, **letter.kwargs)
    letter.replayed_at, letter.replay_task_id = datetime.now(UTC), task.task_id
    return letter
