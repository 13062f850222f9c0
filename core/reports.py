"""The daily report and the upload cleanup: set-based SQL, idempotent, safe to re-run."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Date, cast, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import DailyReport, Import, ImportStatus, ImportUploadChunk, Order


async def compute_daily_report(session: AsyncSession, *, timezone: str) -> int:
    """Recompute orders per day (in `timezone`) and currency; returns the rows written."""
    day = cast(func.timezone(timezone, Order.created_at), Date)
    totals = select(
        day.label("day"),
        Order.currency,
        func.count().label("orders"),
        func.sum(Order.amount).label("total"),
    ).group_by(day, Order.currency)
    statement = insert(DailyReport).from_select(["day", "currency", "orders", "total"], totals)
    statement = statement.on_conflict_do_update(
        index_elements=[DailyReport.day, DailyReport.currency],
        set_={
            "orders": statement.excluded.orders,
            "total": statement.excluded.total,
            "computed_at": func.now(),
        },
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def purge_old_uploads(session: AsyncSession, *, retention: timedelta) -> int:
    """Drop the stored upload of succeeded imports older than `retention`; returns how many.

    A failed import keeps its upload: a resume or a replay finishes it from its checkpoint."""
    old = select(Import.id).where(
        Import.status == ImportStatus.SUCCEEDED,
        Import.finished_at < datetime.now(UTC) - retention,
    )
    dropped = await session.scalars(
        delete(ImportUploadChunk)
        .where(ImportUploadChunk.import_id.in_(old))
        .returning(ImportUploadChunk.import_id)
    )
    return len(set(dropped))
