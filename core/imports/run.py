"""Running an import: parse the stored upload and write its orders, idempotently.

Re-running an import (a redelivered message, a retry) never duplicates a row: orders are keyed
by `order_id` and rejections by (import, line), both written with ON CONFLICT DO NOTHING, and a
finished import is left alone.
"""

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Currency, Import, ImportRejection, ImportStatus, Order
from core.imports.csv_format import OrderRow, Rejection, decode_upload, parse_orders

logger = logging.getLogger(__name__)

Notify = Callable[[dict[str, Any]], Awaitable[object]]


def status_payload(row: Import) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "status": row.status.value,
        "rows_total": row.rows_total,
        "rows_done": row.rows_done,
        "rows_rejected": row.rows_rejected,
        "error": row.error,
    }


async def run_import(
    session: AsyncSession, import_id: uuid.UUID, *, timezone: str, batch_size: int, notify: Notify
) -> ImportStatus:
    """Process one import; each batch is committed so progress is visible while it runs."""
    row = await session.get(Import, import_id, with_for_update=True)
    if row is None:
        raise LookupError(f"import {import_id} does not exist")
    if row.status.finished:
        logger.info("import %s already %s; nothing to do", import_id, row.status.value)
        return row.status
    if row.upload is None:
        raise LookupError(f"import {import_id} has no stored upload")

    row.status, row.started_at, row.error = ImportStatus.RUNNING, datetime.now(UTC), None
    row.rows_done = row.rows_rejected = 0
    await session.commit()
    await notify(status_payload(row))

    try:
        currencies = frozenset((await session.scalars(select(Currency.code))).all())
        parsed = list(
            parse_orders(decode_upload(row.upload), currencies=currencies, tz=ZoneInfo(timezone))
        )
        row.rows_total = len(parsed)
        for start in range(0, len(parsed), batch_size):
            batch = parsed[start : start + batch_size]
            done, rejected = await _write_batch(session, import_id, batch)
            row.rows_done += done
            row.rows_rejected += rejected
            await session.commit()
            await notify(status_payload(row))
        row.status = ImportStatus.SUCCEEDED
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
    row.finished_at = datetime.now(UTC)
    await session.commit()
    await notify(status_payload(row))
    return row.status


async def _write_batch(
    session: AsyncSession, import_id: uuid.UUID, batch: Iterable[OrderRow | Rejection]
) -> tuple[int, int]:
    """Write one batch; returns (orders stored for this import, rows rejected)."""
    orders = [item for item in batch if isinstance(item, OrderRow)]
    rejections = [item for item in batch if isinstance(item, Rejection)]
    taken = await _insert_orders(session, import_id, orders) if orders else []
    rejections += taken
    if rejections:
        await session.execute(
            insert(ImportRejection)
            .values(
                [{"import_id": import_id, "line": r.line, "reason": r.reason} for r in rejections]
            )
            .on_conflict_do_nothing()
        )
    return len(orders) - len(taken), len(rejections)


async def _insert_orders(
    session: AsyncSession, import_id: uuid.UUID, orders: list[OrderRow]
) -> list[Rejection]:
    """Insert `orders`; rejections for the ids another import already stored."""
    values = [
        {
            "order_id": o.order_id,
            "customer": o.customer,
            "amount": o.amount,
            "currency": o.currency,
            "created_at": o.created_at,
            "import_id": import_id,
        }
        for o in orders
    ]
    inserted = set(
        await session.scalars(
            insert(Order)
            .values(values)
            .on_conflict_do_nothing(index_elements=[Order.order_id])
            .returning(Order.order_id)
        )
    )
    conflicts = [o for o in orders if o.order_id not in inserted]
    if not conflicts:
        return []
    # A conflict with a row this import wrote before (a re-run) is success; one with another
    # import's row is a duplicate the user has to know about.
    owned_by = await session.execute(
        select(Order.order_id, Order.import_id).where(
            Order.order_id.in_([o.order_id for o in conflicts])
        )
    )
    owners = {order_id: owner for order_id, owner in owned_by.tuples()}
    return [
        Rejection(o.line, f"order_id {o.order_id!r} already imported by another import")
        for o in conflicts
        if owners.get(o.order_id) != import_id
    ]
