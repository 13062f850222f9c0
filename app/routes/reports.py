"""`GET /reports/daily`: the orders per day and currency the scheduled report computed."""

from datetime import date, datetime
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from app.deps import SessionDep
from core.db.models import DailyReport

router = APIRouter(prefix="/reports", tags=["reports"])


class DailyReportOut(BaseModel):
    day: date
    currency: str
    orders: int
    total: Decimal
    computed_at: datetime


@router.get("/daily")
async def daily_reports(
    session: SessionDep,
    start: date | None = None,
    end: date | None = None,
    currency: str | None = None,
) -> list[DailyReportOut]:
    query = select(DailyReport).order_by(DailyReport.day, DailyReport.currency)
    if start is not None:
        query = query.where(DailyReport.day >= start)
    if end is not None:
        query = query.where(DailyReport.day <= end)
    if currency is not None:
        query = query.where(DailyReport.currency == currency.upper())
    return [
        DailyReportOut(
            day=r.day,
            currency=r.currency,
            orders=r.orders,
            total=r.total,
            computed_at=r.computed_at,
        )
        for r in await session.scalars(query)
    ]
