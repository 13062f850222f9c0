"""Tick maths: when a schedule fires, and what to do about ticks nobody fired. Pure functions.

A tick is an aware UTC instant. Every scheduler process computes the same ticks from the same
schedule, whatever its start time, which is what lets two processes agree on "this tick":
- cron ticks are wall-clock times in the schedule's timezone (a wall time skipped by a DST jump
  fires shifted by the jump, 02:30 → 03:30; a wall time that happens twice fires once, the
  first time);
- interval ticks sit on a grid anchored at the Unix epoch, not at process start;
- a one-off (`time`) schedule has a single tick.
"""

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache

from taskiq_durable.scheduler.cron import CronExpr

__all__ = [
    "CronTrigger",
    "Due",
    "IntervalTrigger",
    "Misfire",
    "OnceTrigger",
    "Trigger",
    "due_tick",
    "latest_tick",
    "next_tick",
    "ticks_between",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Far enough for the rarest cron a day rule can express (29 February on a given weekday).
SEARCH_DAYS = 366 * 28


class Misfire(enum.StrEnum):
    """What to do with a tick that is older than the grace period when a scheduler sees it."""

    CATCH_UP = "catch_up"  # send it once, however many ticks were missed
    SKIP = "skip"  # send nothing; wait for the next tick


@dataclass(frozen=True, slots=True)
class CronTrigger:
    expr: CronExpr
    tz: tzinfo


@dataclass(frozen=True, slots=True)
class IntervalTrigger:
    every: timedelta


@dataclass(frozen=True, slots=True)
class OnceTrigger:
    at: datetime


Trigger = CronTrigger | IntervalTrigger | OnceTrigger


@dataclass(frozen=True, slots=True)
class Due:
    tick: datetime
    send: bool  # False: the tick is recorded as handled without sending (a skipped misfire)
    late: bool  # older than the grace period


@lru_cache(maxsize=256)
def _day_ticks(expr: CronExpr, tz: tzinfo, day: date) -> tuple[datetime, ...]:
    """The UTC instants of one local day's matching wall times, sorted."""
    if not expr.matches_day(day):
        return ()
    instants = {
        datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)
        for hour in expr.hours
        for minute in expr.minutes
    }
    return tuple(sorted(instants))


def next_tick(trigger: Trigger, after: datetime) -> datetime | None:
    """The first tick strictly after `after`, or None when there is none."""
    match trigger:
        case OnceTrigger(at):
            return at if at > after else None
        case IntervalTrigger(every):
            return EPOCH + ((after - EPOCH) // every + 1) * every
        case CronTrigger(expr, tz):
            # Start a day early: a DST jump can move a wall time across local midnight.
            day = after.astimezone(tz).date() - timedelta(days=1)
            for offset in range(SEARCH_DAYS):
                for tick in _day_ticks(expr, tz, day + timedelta(days=offset)):
                    if tick > after:
                        return tick
            return None


def latest_tick(trigger: Trigger, at: datetime) -> datetime | None:
    """The last tick at or before `at`, or None when there is none."""
    match trigger:
        case OnceTrigger(when):
            return when if when <= at else None
        case IntervalTrigger(every):
            return EPOCH + ((at - EPOCH) // every) * every
        case CronTrigger(expr, tz):
            day = at.astimezone(tz).date() + timedelta(days=1)
            for offset in range(SEARCH_DAYS):
                for tick in reversed(_day_ticks(expr, tz, day - timedelta(days=offset))):
                    if tick <= at:
                        return tick
            return None


def ticks_between(trigger: Trigger, since: datetime, until: datetime) -> list[datetime]:
    """Every tick in (since, until]: what a scheduler that stopped at `since` has missed."""
    ticks: list[datetime] = []
    tick = next_tick(trigger, since)
    while tick is not None and tick <= until:
        ticks.append(tick)
        tick = next_tick(trigger, tick)
    return ticks


def due_tick(
    trigger: Trigger, handled: datetime, now: datetime, grace: timedelta, misfire: Misfire
) -> Due | None:
    """The tick to handle now, given the last tick already handled.

    Only the latest tick counts: ticks missed while no scheduler ran collapse into it, so a
    schedule is caught up once, not once per missed tick. A tick at most `grace` old is simply
    late (a slow loop, a restart) and is sent whatever the misfire policy.
    """
    tick = latest_tick(trigger, now)
    if tick is None or tick <= handled:
        return None
    late = now - tick > grace
    return Due(tick=tick, send=not late or misfire is Misfire.CATCH_UP, late=late)
