"""`GET /reports/daily`: the orders per day and currency the scheduled report computed."""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator
from sqlalchemy import select

from app.deps import SessionDep
from core.db.models import DailyReport

router = APIRouter(prefix="/reports", tags=["reports"])


def _iso_only(value: object) -> object:
    # pydantic also reads a number as a Unix timestamp; the schema promises an ISO date.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_only)]


class DailyReportOut(BaseModel):
    day: date
    currency: str
    orders: int
    total: Decimal
    computed_at: datetime


@router.get("/daily")
async def daily_reports(
    session: SessionDep,
    start: IsoDate | None = None,
    end: IsoDate | None = None,
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
