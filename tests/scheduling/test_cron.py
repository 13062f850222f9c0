"""Cron parsing: what is accepted, what is refused and why, and parity with taskiq's pycron."""

from datetime import UTC, datetime, timedelta

import pycron  # type: ignore[import-untyped]
import pytest
from taskiq_durable.scheduler.cron import CronError, CronExpr


@pytest.mark.parametrize(
    ("text", "field", "values"),
    [
        ("*/15 * * * *", "minutes", {0, 15, 30, 45}),
        ("5,10-12 * * * *", "minutes", {5, 10, 11, 12}),
        ("50/5 * * * *", "minutes", {50, 55}),
        ("0 8-18/4 * * *", "hours", {8, 12, 16}),
        ("0 0 */10 * *", "days", {1, 11, 21, 31}),
        ("0 0 1 jan,Jul *", "months", {1, 7}),
        ("0 0 * * mon-fri", "weekdays", {1, 2, 3, 4, 5}),
        ("0 0 * * 0,7", "weekdays", {0}),
        ("0 0 * * Sunday", "weekdays", {0}),
    ],
)
def test_fields(text: str, field: str, values: set[int]) -> None:
    assert getattr(CronExpr.parse(text), field) == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("* * * *", "cron '* * * *': expected 5 fields, got 4"),
        ("60 * * * *", "cron '60 * * * *': minute field: 60 is outside 0-59"),
        ("* 24 * * *", "cron '* 24 * * *': hour field: 24 is outside 0-23"),
        ("* * 0 * *", "cron '* * 0 * *': day-of-month field: 0 is outside 1-31"),
        ("* * * foo *", "cron '* * * foo *': month field: 'foo' is not a number"),
        ("*/0 * * * *", "cron '*/0 * * * *': minute field: step '0' must be a positive number"),
        ("10-5 * * * *", "cron '10-5 * * * *': minute field: range '10-5' runs backwards"),
        ("1,,2 * * * *", "cron '1,,2 * * * *': minute field: empty item in '1,,2'"),
        ("@daily", "cron '@daily': expected 5 fields, got 1"),
    ],
)
def test_refused_with_reason(text: str, message: str) -> None:
    with pytest.raises(CronError) as raised:
        CronExpr.parse(text)
    assert str(raised.value) == message


def _matches(expr: CronExpr, at: datetime) -> bool:
    return at.hour in expr.hours and at.minute in expr.minutes and expr.matches_day(at.date())


@pytest.mark.parametrize(
    "text",
    [
        "* * * * *",
        "*/7 */5 * * *",
        "0 12 1,15 * *",
        "30 6 * * 1-5",
        "0 0 13 * 5",  # both day fields restricted: the 13th or a Friday
        "15 9 */2 * *",
        "0 22 * 2-4 sat,sun",
    ],
)
def test_same_minutes_as_pycron(text: str) -> None:
    """Label schedules written for taskiq (pycron) fire on the same minutes here."""
    expr = CronExpr.parse(text)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    minutes = [start + timedelta(minutes=37 * i) for i in range(20_000)]  # ~14 months
    fired = [m for m in minutes if _matches(expr, m)]
    assert fired
    assert fired == [m for m in minutes if pycron.is_now(text, m)]
