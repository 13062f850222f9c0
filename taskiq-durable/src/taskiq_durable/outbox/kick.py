"""Kicks that commit with the caller's data: the outbox row is written in the caller's transaction.

    row = Import(...)
    session.add(row)
    task = await kick_after_commit(session, run_import_task, row.id)
    await session.commit()          # the row and its kick, or neither

The kick is a `task_outbox` row inserted in the session's transaction. When the session
commits, the fast path sends it at once (a task on the running loop: SQLAlchemy's `after_commit`
hook is synchronous; kicks committed while a batch is in flight go out in the next one); when it
rolls back, the row is gone and nothing is sent. If the process dies between the commit and the
send, or the stream refuses it, the relay (taskiq_durable.outbox.relay) sends it after a short
delay. The row's id is the message's task id.
"""

import asyncio
import logging
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from pydantic_core import PydanticSerializationError, to_jsonable_python
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, AsyncTaskiqTask
from taskiq.kicker import AsyncKicker

from taskiq_durable.durable_broker import DurableBroker
from taskiq_durable.outbox.send import drain_aggregate, send_ids
from taskiq_durable.outbox.table import outbox_table
from taskiq_durable.queues import STREAM, route, stream_name

__all__ = ["OutboxKicker", "kick_after_commit", "outbox_kicker", "wait_for_sends"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# Where a session keeps the kicks its current transaction wrote (`Session.info`).
_PENDING = "taskiq_durable.outbox.pending"
# taskiq never ships this label (it holds exception classes); neither do we.
_LOCAL_LABELS = frozenset({"types_of_exceptions"})

# Fast-path senders running in this process; held so they are not garbage-collected mid-send.
_sending: set[asyncio.Task[None]] = set()
# After a broker refused a send, this process's fast path stands aside from it this long:
# during a Redis outage every commit would otherwise hold a connection through a failing send
# (redis-py retries a refused connection), and the relay sends those rows anyway.
PAUSE_AFTER_REFUSAL_SECONDS = 1.0
# Rows one fast-path batch claims and sends in one transaction.
FAST_PATH_BATCH = 200


@dataclass(frozen=True, slots=True)
class _Pending:
    engine: AsyncEngine
    broker: AsyncBroker
    row_id: uuid.UUID
    aggregate: str | None


class OutboxKicker(Generic[P, R]):
    """`kiq` writes an outbox row in `session`'s transaction instead of sending."""

    def __init__(
        self, session: AsyncSession, kicker: AsyncKicker[P, R], aggregate: str | None
    ) -> None:
        self._session = session
        self._kicker = kicker
        self._aggregate = aggregate

    async def kiq(self, *args: P.args, **kwargs: P.kwargs) -> AsyncTaskiqTask[Any]:
        row_id = _row_id(self._kicker.custom_task_id)
        _check_queue(self._kicker)
        # Core, not the unit of work: one INSERT now, in the caller's transaction.
        await self._session.execute(
            insert(outbox_table).values(
                id=row_id,
                task_name=self._kicker.task_name,
                args=_json(list(args), "arguments"),
                kwargs=_json(kwargs, "keyword arguments"),
                labels=_json(
                    {k: v for k, v in self._kicker.labels.items() if k not in _LOCAL_LABELS},
                    "labels",
                ),
                aggregate=self._aggregate,
            )
        )
        _watch(self._session.sync_session).append(
            _Pending(_engine_of(self._session), self._kicker.broker, row_id, self._aggregate)
        )
        return AsyncTaskiqTask(row_id.hex, self._kicker.broker.result_backend)


def outbox_kicker(
    session: AsyncSession,
    task: AsyncTaskiqDecoratedTask[P, R] | AsyncKicker[P, R],
    *,
    aggregate: str | None = None,
) -> OutboxKicker[P, R]:
    """A kicker bound to `session`'s transaction. Kicks sharing an `aggregate` key are sent in
    the order they were written (see docs/patterns/transactions.md for what that promises)."""
    if aggregate is not None and not aggregate:
        raise ValueError("an aggregate key must be a non-empty string (or None: no order)")
    kicker = task.kicker() if isinstance(task, AsyncTaskiqDecoratedTask) else task
    return OutboxKicker(session, kicker, aggregate)


async def kick_after_commit(
    session: AsyncSession,
    task: AsyncTaskiqDecoratedTask[P, R] | AsyncKicker[P, R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> AsyncTaskiqTask[Any]:
    """Kick `task` when `session` commits, never if it rolls back; the returned task's id is
    known now. Pass a kicker (`task.kicker().with_labels(...)`) for labels or a task id."""
    return await outbox_kicker(session, task).kiq(*args, **kwargs)


async def wait_for_sends() -> None:
    """Wait for this process's fast-path sends in flight (a clean shutdown, a test, a bench).

    Not needed for delivery: a send that never happens is the relay's."""
    while _sending:
        await asyncio.gather(*_sending, return_exceptions=True)


def _row_id(custom: str | None) -> uuid.UUID:
    if custom is None:
        return uuid.uuid4()
    try:
        row_id = uuid.UUID(hex=custom)
    except ValueError:
        row_id = None
    if row_id is None or row_id.hex != custom:
        raise ValueError(
            f"task id {custom!r}: an outbox kick's task id is its row id, a UUID in hex"
            " (uuid.uuid4().hex); leave it unset to get one"
        )
    return row_id


def _check_queue(kicker: AsyncKicker[Any, Any]) -> None:
    """Refuse now a kick to a queue no worker reads, as a direct kick is refused: at send time
    the row would be committed already, and refused for ever."""
    broker = kicker.broker
    if not isinstance(broker, DurableBroker):
        return
    config = broker.config
    stream = kicker.labels.get(STREAM)
    if stream is None:
        stream_name(
            config, route(kicker.task_name, kicker.labels, config.task_routes, config.default_queue)
        )
    elif stream not in {stream_name(config, queue) for queue in config.queues}:
        raise ValueError(
            f"unknown stream {stream!r}: configured queues are {', '.join(config.queues)}"
        )


def _json(value: Any, what: str) -> Any:
    """`value` as JSON data, converted as the kicker converts arguments (pydantic models,
    dataclasses, UUIDs, datetimes); a clear error for anything JSON can't carry."""
    try:
        return to_jsonable_python(value)
    except PydanticSerializationError as exc:
        raise TypeError(f"an outbox kick's {what} must be JSON-serialisable: {exc}") from exc


def _engine_of(session: AsyncSession) -> AsyncEngine:
    bind = session.bind
    if not isinstance(bind, AsyncEngine):
        raise TypeError(
            "kick_after_commit needs a session bound to an AsyncEngine"
            " (async_sessionmaker(engine)): the fast path sends through that engine"
        )
    return bind


def _watch(session: Session) -> list[_Pending]:
    """The session's pending kicks, with its commit and rollback hooks installed once."""
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
    return pending


def _after_commit(session: Session) -> None:
    pending: list[_Pending] = session.info[_PENDING]
    if not pending:
        return
    committed = list(pending)
    pending.clear()
    for kick in committed:
        _sender(kick.engine, kick.broker).add(kick)


def _after_rollback(session: Session) -> None:
    # The rolled-back rows are gone; their kicks with them.
    session.info[_PENDING].clear()


class _Sender:
    """The fast path of one engine and broker in this process, as a group commit: the kicks
    committed while a batch is being sent go out together in the next one, one transaction and
    one connection for them all, however many requests commit at once."""

    # It holds no reference to its engine and broker (they key it weakly): each kick has them.
    def __init__(self) -> None:
        self._queue: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None
        self._paused_until = 0.0

    def add(self, kick: _Pending) -> None:
        self._queue.append(kick)
        # The hook is synchronous, called inside AsyncSession.commit on the caller's loop.
        loop = asyncio.get_running_loop()
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = task = loop.create_task(self._run(), name="outbox-fast-path")
            _sending.add(task)
            task.add_done_callback(_sending.discard)

    async def _run(self) -> None:
        while self._queue:
            batch = self._queue[:FAST_PATH_BATCH]
            del self._queue[:FAST_PATH_BATCH]
            if time.monotonic() < self._paused_until:
                continue  # the broker refused a moment ago: these rows are the relay's
            await self._send(batch)

    async def _send(self, batch: list[_Pending]) -> None:
        engine, broker = batch[0].engine, batch[0].broker
        try:
            plain = [kick.row_id for kick in batch if kick.aggregate is None]
            outcomes = [await send_ids(engine, broker, plain)] if plain else []
            for key in dict.fromkeys(k.aggregate for k in batch if k.aggregate is not None):
                outcomes.append(await drain_aggregate(engine, broker, key, FAST_PATH_BATCH))
        except Exception:  # the database refused: every row is still unsent, the relay's
            logger.info("outbox fast path: not sent, the relay will send it", exc_info=True)
            return
        for outcome in outcomes:
            if outcome.error is not None:
                self._paused_until = time.monotonic() + PAUSE_AFTER_REFUSAL_SECONDS
                logger.info(
                    "outbox fast path: the stream refused (%r); the relay retries", outcome.error
                )


# One sender per engine and broker, gone with them.
_senders: weakref.WeakKeyDictionary[AsyncEngine, weakref.WeakKeyDictionary[AsyncBroker, _Sender]]
_senders = weakref.WeakKeyDictionary()


def _sender(engine: AsyncEngine, broker: AsyncBroker) -> _Sender:
    by_broker = _senders.setdefault(engine, weakref.WeakKeyDictionary())
    sender = by_broker.get(broker)
    if sender is None:
        sender = by_broker[broker] = _Sender()
    return sender
