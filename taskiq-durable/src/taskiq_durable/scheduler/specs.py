"""What a taskiq `ScheduledTask` means to the tick loop: its trigger and its misfire policy.

Shared by the scheduler (which reads schedules from any source) and the admin API (which
validates a schedule before storing it), so both accept exactly the same schedules.
"""

from datetime import UTC, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from taskiq import ScheduledTask

from taskiq_durable.scheduler.cron import CronExpr
from taskiq_durable.scheduler.ticks import (
    CronTrigger,
    IntervalTrigger,
    Misfire,
    OnceTrigger,
    Trigger,
)

__all__ = ["MISFIRE_LABEL", "TICK_LABEL", "misfire_of", "trigger_of", "zone"]

# Schedule label choosing the misfire policy (`"catch_up"` or `"skip"`), in label schedules
# (`schedule=[{"cron": ..., "labels": {"misfire": "skip"}}]`) and runtime ones alike.
MISFIRE_LABEL = "misfire"
# Label added to every message the scheduler sends: the tick (ISO 8601, UTC) it stands for,
# usable by a task as an idempotency key for that run.
TICK_LABEL = "schedule_tick"


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`; ValueError with a readable message when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def trigger_of(task: ScheduledTask, default_tz: str) -> Trigger:
    """The task's trigger. Cron without `cron_offset` runs in `default_tz`, not in UTC.

    Raises ValueError (CronError for a bad expression) when the schedule cannot fire.
    """
    if task.cron is not None:
        offset = task.cron_offset
        tz = timezone(offset) if isinstance(offset, timedelta) else zone(offset or default_tz)
        return CronTrigger(CronExpr.parse(task.cron), tz)
    if task.interval is not None:
        every = task.interval
        return IntervalTrigger(every if isinstance(every, timedelta) else timedelta(seconds=every))
    if task.time is None:
        raise ValueError("schedule has neither cron, interval nor time")
    at = task.time
    # taskiq reads a naive time as UTC; so do we.
    return OnceTrigger(at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC))


def misfire_of(task: ScheduledTask, default: Misfire) -> Misfire:
    """The schedule's misfire policy (label, else `default`; a one-off, else catch up).

    A one-off schedule that nobody fired has not run at all, so it catches up unless told not to.
    """
    value = task.labels.get(MISFIRE_LABEL)
    if value is not None:
        return Misfire(value)
    return Misfire.CATCH_UP if task.cron is None and task.interval is None else default
