"""Tick maths (pure): next and latest ticks, DST, the interval grid, and misfire decisions."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from taskiq_durable.scheduler.cron import CronExpr
from taskiq_durable.scheduler.ticks import (
    CronTrigger,
    Due,
    IntervalTrigger,
    Misfire,
    OnceTrigger,
    Trigger,
    due_tick,
    latest_tick,
    next_tick,
    ticks_between,
)

BERLIN = ZoneInfo("Europe/Berlin")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def cron(text: str, tz: timezone | ZoneInfo = BERLIN) -> CronTrigger:
    return CronTrigger(CronExpr.parse(text), tz)


@pytest.mark.parametrize(
    ("trigger", "after", "expected"),
    [
        # 08:00 in Berlin is 07:00 UTC in winter, 06:00 UTC in summer.
        (cron("0 8 * * *"), utc(2026, 1, 10, 7, 0), utc(2026, 1, 11, 7, 0)),
        (cron("0 8 * * *"), utc(2026, 7, 10, 5, 59), utc(2026, 7, 10, 6, 0)),
        # Spring forward (29 March 2026, 02:00 -> 03:00): 02:30 does not exist, fires as 03:30.
        (cron("30 2 * * *"), utc(2026, 3, 28, 12), utc(2026, 3, 29, 1, 30)),
        (cron("30 2 * * *"), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)),
        # Fall back (25 October 2026, 03:00 -> 02:00): 02:30 happens twice, fires once.
        (cron("30 2 * * *"), utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30)),
        (cron("30 2 * * *"), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
        (cron("*/30 * * * *", UTC), utc(2026, 5, 1, 10, 0), utc(2026, 5, 1, 10, 30)),
        (cron("0 0 29 2 *", UTC), utc(2026, 3, 1), utc(2028, 2, 29)),
        (
            cron("0 9 * * *", timezone(timedelta(hours=5, minutes=30))),
            utc(2026, 5, 1),
            utc(2026, 5, 1, 3, 30),
        ),
        (cron("0 0 31 2 *", UTC), utc(2026, 1, 1), None),
        # Intervals sit on an epoch grid: every process computes the same ticks.
        (
            IntervalTrigger(timedelta(seconds=1)),
            utc(2026, 5, 1, 10, 0, 0, 400_000),
            utc(2026, 5, 1, 10, 0, 1),
        ),
        (
            IntervalTrigger(timedelta(seconds=7)),
            utc(2026, 5, 1, 10, 0, 0),
            utc(2026, 5, 1, 10, 0, 2),
        ),
        (IntervalTrigger(timedelta(hours=1)), utc(2026, 5, 1, 10, 0, 0), utc(2026, 5, 1, 11, 0, 0)),
        (OnceTrigger(utc(2026, 5, 1, 12)), utc(2026, 5, 1, 11), utc(2026, 5, 1, 12)),
        (OnceTrigger(utc(2026, 5, 1, 12)), utc(2026, 5, 1, 12), None),
    ],
)
def test_next_tick(trigger: Trigger, after: datetime, expected: datetime | None) -> None:
    assert next_tick(trigger, after) == expected


@pytest.mark.parametrize(
    ("trigger", "at", "expected"),
    [
        (cron("0 8 * * *"), utc(2026, 1, 10, 7, 0), utc(2026, 1, 10, 7, 0)),
        (cron("0 8 * * *"), utc(2026, 1, 10, 6, 59), utc(2026, 1, 9, 7, 0)),
        (cron("30 2 * * *"), utc(2026, 10, 25, 23), utc(2026, 10, 25, 0, 30)),
        (cron("0 0 * * mon", UTC), utc(2026, 5, 3, 12), utc(2026, 4, 27)),
        (
            IntervalTrigger(timedelta(seconds=7)),
            utc(2026, 5, 1, 10, 0, 1, 999_999),
            utc(2026, 5, 1, 9, 59, 55),
        ),
        (OnceTrigger(utc(2026, 5, 1, 12)), utc(2026, 5, 1, 11), None),
        (OnceTrigger(utc(2026, 5, 1, 12)), utc(2026, 5, 2), utc(2026, 5, 1, 12)),
    ],
)
def test_latest_tick(trigger: Trigger, at: datetime, expected: datetime | None) -> None:
    assert latest_tick(trigger, at) == expected


def test_ticks_between_is_what_a_stopped_scheduler_missed() -> None:
    assert ticks_between(
        cron("*/20 * * * *", UTC), utc(2026, 5, 1, 10, 0), utc(2026, 5, 1, 11, 0)
    ) == [
        utc(2026, 5, 1, 10, 20),
        utc(2026, 5, 1, 10, 40),
        utc(2026, 5, 1, 11, 0),
    ]


EVERY_MINUTE = cron("* * * * *", UTC)
GRACE = timedelta(seconds=30)
NOW = utc(2026, 5, 1, 10, 5, 10)


@pytest.mark.parametrize(
    ("trigger", "handled", "misfire", "expected"),
    [
        # On time: the 10:05 tick, 10 s old, nothing handled since 10:04.
        (
            EVERY_MINUTE,
            utc(2026, 5, 1, 10, 4),
            Misfire.SKIP,
            Due(utc(2026, 5, 1, 10, 5), send=True, late=False),
        ),
        # Already handled (by this or another scheduler, or before a restart): nothing to do.
        (EVERY_MINUTE, utc(2026, 5, 1, 10, 5), Misfire.CATCH_UP, None),
        # Down since 09:00: 65 ticks missed, the latest (10:05) within grace: sent once.
        (
            EVERY_MINUTE,
            utc(2026, 5, 1, 9, 0),
            Misfire.SKIP,
            Due(utc(2026, 5, 1, 10, 5), send=True, late=False),
        ),
        # Hourly, last handled at 08:00, now 10:05:10: 10:00 is 5 min old — a misfire.
        (
            IntervalTrigger(timedelta(hours=1)),
            utc(2026, 5, 1, 8),
            Misfire.CATCH_UP,
            Due(utc(2026, 5, 1, 10), send=True, late=True),
        ),
        (
            IntervalTrigger(timedelta(hours=1)),
            utc(2026, 5, 1, 8),
            Misfire.SKIP,
            Due(utc(2026, 5, 1, 10), send=False, late=True),
        ),
        (IntervalTrigger(timedelta(hours=1)), utc(2026, 5, 1, 10), Misfire.CATCH_UP, None),
        (
            OnceTrigger(utc(2026, 5, 1, 11)),
            datetime.min.replace(tzinfo=UTC),
            Misfire.CATCH_UP,
            None,
        ),
        (
            OnceTrigger(utc(2026, 5, 1, 9)),
            datetime.min.replace(tzinfo=UTC),
            Misfire.CATCH_UP,
            Due(utc(2026, 5, 1, 9), send=True, late=True),
        ),
    ],
)
def test_due_tick(
    trigger: Trigger, handled: datetime, misfire: Misfire, expected: Due | None
) -> None:
    assert due_tick(trigger, handled, NOW, GRACE, misfire) == expected
