"""Running an import: stream the stored upload, write its orders in batches, resumably.

Each batch commits its orders, its rejections and the import's checkpoint (`bytes_done`,
`lines_done`, the counters) in one transaction, so whatever stops a run (a crash, a database
outage, a bug) leaves an import that the next run of the same import (a redelivery, a retry, a
dead-letter replay, `POST /imports/{id}/resume`) finishes from exactly the first row not stored.
Only a succeeded import is left alone.

A row the parser or the database refuses is a rejection with its line and reason; the rest of
the import proceeds. The import owns its rows: an order id it stored earlier on the same line is
a re-run, on another line a duplicate in the file; only an id stored by another import is
"already imported".
"""

import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Currency, Import, ImportRejection, ImportStatus, Order
from core.imports.csv_format import (
    Header,
    OrderRow,
    Record,
    RecordReader,
    Rejection,
    parse_header,
    parse_record,
    shown,
)
from core.imports.storage import read_chunks, read_head

logger = logging.getLogger(__name__)

Notify = Callable[[dict[str, Any]], Awaitable[object]]

# A database refusal quoted in a rejection is cut to this many characters.
REFUSAL_SHOWN_CHARS = 200


def status_payload(row: Import) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "status": row.status.value,
        "rows_total": row.rows_total,
        "rows_done": row.rows_done,
        "rows_rejected": row.rows_rejected,
        "bytes_done": row.bytes_done,
        "upload_bytes": row.upload_bytes,
        "error": row.error,
    }


async def run_import(
    session: AsyncSession, import_id: uuid.UUID, *, timezone: str, batch_size: int, notify: Notify
) -> ImportStatus:
    """Process one import from its checkpoint; each batch is committed with its progress."""
    row = await session.get(Import, import_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise LookupError(f"import {import_id} does not exist")
    if row.status is ImportStatus.SUCCEEDED:
        logger.info("import %s already succeeded; nothing to do", import_id)
        return row.status

    if row.bytes_done == 0:  # from the start (a first run, or an import from before 0003)
        row.rows_total = row.rows_done = row.rows_rejected = 0
    row.status, row.started_at, row.finished_at, row.error = (
        ImportStatus.RUNNING,
        datetime.now(UTC),
        None,
        None,
    )
    await session.commit()
    await notify(status_payload(row))

    try:
        currencies = frozenset((await session.scalars(select(Currency.code))).all())
        head = await read_head(session, row)
        header = parse_header(head, complete=len(head) == row.upload_bytes)
        ahead = not await _import_rows(
            session, row, header, currencies, ZoneInfo(timezone), batch_size, notify
        )
    except Exception as exc:
        await session.rollback()
        await session.execute(
            update(Import)
            .where(Import.id == import_id)
            .values(status=ImportStatus.FAILED, error=repr(exc), finished_at=datetime.now(UTC))
        )
        await session.commit()
        await session.refresh(row)
        await notify(status_payload(row))
        raise
    if ahead:
        # Another run of this import (a redelivered copy) committed past our checkpoint: it
        # carries on, this one stops without touching the import.
        logger.warning("import %s: another run is ahead of this one; leaving it to that", row.id)
        await session.refresh(row)
        return row.status
    row.status, row.finished_at = ImportStatus.SUCCEEDED, datetime.now(UTC)
    await session.commit()
    await notify(status_payload(row))
    return row.status


async def _import_rows(
    session: AsyncSession,
    row: Import,
    header: Header,
    currencies: frozenset[str],
    tz: ZoneInfo,
    batch_size: int,
    notify: Notify,
) -> bool:
    """Every row after the checkpoint, a committed batch at a time; False when another run of
    the import moved the checkpoint meanwhile."""
    start, line = (row.bytes_done, row.lines_done) if row.bytes_done else (header.end, header.line)
    batch: list[OrderRow | Rejection] = []
    end, end_line = start, line
    async with aclosing(_records(session, row, start=start, line=line)) as records:
        async for record in records:
            item = parse_record(record, header, currencies=currencies, tz=tz)
            if item is not None:
                batch.append(item)
            end, end_line = record.end, record.end_line
            if len(batch) >= batch_size:
                if not await _commit_batch(session, row, batch, end, end_line):
                    return False
                await notify(status_payload(row))
                batch = []
    # The last batch, and the checkpoint past trailing blank lines, even with no row left.
    if batch or end != row.bytes_done:
        if not await _commit_batch(session, row, batch, end, end_line):
            return False
        await notify(status_payload(row))
    return True


async def _records(
    session: AsyncSession, row: Import, *, start: int, line: int
) -> AsyncGenerator[Record, None]:
    reader = RecordReader(offset=start, line=line)
    async for data in read_chunks(session, row, start=start):
        reader.feed(data)
        while (record := reader.next()) is not None:
            yield record
    reader.end()
    while (record := reader.next()) is not None:
        yield record


async def _commit_batch(
    session: AsyncSession, row: Import, batch: list[OrderRow | Rejection], end: int, line: int
) -> bool:
    """Write `batch` and move the checkpoint to `end` in one transaction; False (and nothing
    written) when the checkpoint is no longer where this run left it."""
    done, rejected = await _write_batch(session, row.id, batch)
    moved = await session.execute(
        update(Import)
        .where(Import.id == row.id, Import.bytes_done == row.bytes_done)
        .values(
            bytes_done=end,
            lines_done=line,
            rows_total=Import.rows_total + len(batch),
            rows_done=Import.rows_done + done,
            rows_rejected=Import.rows_rejected + rejected,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return False
    await session.commit()
    await session.refresh(row)
    return True


async def _write_batch(
    session: AsyncSession, import_id: uuid.UUID, batch: list[OrderRow | Rejection]
) -> tuple[int, int]:
    """Write one batch; returns (orders this import now holds from it, rows rejected)."""
    rejections = [item for item in batch if isinstance(item, Rejection)]
    orders: dict[str, OrderRow] = {}
    repeats: list[OrderRow] = []  # an id again in this batch: judged once the first is stored
    for item in batch:
        if not isinstance(item, OrderRow):
            continue
        if item.order_id in orders:
            repeats.append(item)
        else:
            orders[item.order_id] = item
    stored, refused = await _insert_orders(session, import_id, list(orders.values()))
    rejections += refused
    taken = [order for order in orders.values() if order.order_id not in stored]
    firsts = {order_id: order.line for order_id, order in orders.items()}
    done, taken_rejections = await _owned(session, import_id, taken + repeats, firsts)
    rejections += taken_rejections
    written = 0
    if rejections:
        written = len(
            (
                await session.scalars(
                    insert(ImportRejection)
                    .values(
                        [
                            {"import_id": import_id, "line": r.line, "reason": r.reason}
                            for r in rejections
                        ]
                    )
                    .on_conflict_do_nothing()
                    .returning(ImportRejection.line)
                )
            ).all()
        )
    return len(stored) + done, written


async def _insert_orders(
    session: AsyncSession, import_id: uuid.UUID, orders: list[OrderRow]
) -> tuple[set[str], list[Rejection]]:
    """Insert `orders`: (the ids inserted, rejections for rows the database refused).

    The batch goes in one statement; if the database refuses it (a data or constraint error),
    each row goes alone, so only the refused ones are rejected."""
    if not orders:
        return set(), []
    try:
        async with session.begin_nested():
            return await _insert(session, import_id, orders), []
    except (DataError, IntegrityError):
        pass
    stored: set[str] = set()
    refused = []
    for order in orders:
        try:
            async with session.begin_nested():
                stored |= await _insert(session, import_id, [order])
        except (DataError, IntegrityError) as exc:
            refused.append(Rejection(order.line, f"the database refused the row: {_refusal(exc)}"))
    return stored, refused


def _refusal(exc: DataError | IntegrityError) -> str:
    message = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    # asyncpg prefixes its class: "<class 'asyncpg.exceptions.CheckViolationError'>: ..."
    message = message.rpartition(">: ")[2]
    return message[:REFUSAL_SHOWN_CHARS]


async def _insert(session: AsyncSession, import_id: uuid.UUID, orders: list[OrderRow]) -> set[str]:
    values = [
        {
            "order_id": o.order_id,
            "customer": o.customer,
            "amount": o.amount,
            "currency": o.currency,
            "created_at": o.created_at,
            "import_id": import_id,
            "import_line": o.line,
        }
        for o in orders
    ]
    return set(
        await session.scalars(
            insert(Order)
            .values(values)
            .on_conflict_do_nothing(index_elements=[Order.order_id])
            .returning(Order.order_id)
        )
    )


async def _owned(
    session: AsyncSession, import_id: uuid.UUID, taken: list[OrderRow], firsts: dict[str, int]
) -> tuple[int, list[Rejection]]:
    """Of orders whose id was already stored: (how many this import stored from the same line
    before, rejections for the rest). `firsts`: the batch's first line of each id, for a repeat
    whose first occurrence was refused (so no row has the id)."""
    if not taken:
        return 0, []
    owners = {
        order_id: (owner, line)
        for order_id, owner, line in (
            await session.execute(
                select(Order.order_id, Order.import_id, Order.import_line).where(
                    Order.order_id.in_([o.order_id for o in taken])
                )
            )
        ).tuples()
    }
    done = 0
    rejections = []
    for order in taken:
        if order.order_id not in owners:
            rejections.append(_duplicate(order, firsts[order.order_id]))
            continue
        owner, line = owners[order.order_id]
        if owner == import_id and line in (None, order.line):
            done += 1  # stored by an earlier run of this import (None: before migration 0003)
        elif owner == import_id and line is not None:
            rejections.append(_duplicate(order, line))
        elif owner is None:
            reason = f"order_id {shown(order.order_id)} already imported by a deleted import"
            rejections.append(Rejection(order.line, reason))
        else:
            reason = f"order_id {shown(order.order_id)} already imported by import {owner}"
            rejections.append(Rejection(order.line, reason))
    return done, rejections


def _duplicate(order: OrderRow, first: int) -> Rejection:
    return Rejection(
        order.line, f"duplicate order_id {shown(order.order_id)} (first at line {first})"
    )
