"""Scheduled maintenance: the daily report and the upload cleanup.

Their schedules are labels, read by the scheduler process's `LabelScheduleSource`; the daily
report's cron runs in the configured timezone.
"""

from datetime import timedelta

from taskiq import TaskiqDepends

from core.reports import compute_daily_report, purge_old_uploads
from tasks.broker import broker, settings
from tasks.deps import Session, StackSettings


@broker.task(
    task_name="reports.daily",
    schedulable=True,  # runtime schedules and run-now may name it (tasks/policy.py)
    schedule=[
        {
            "cron": settings.daily_report_cron,
            "cron_offset": settings.timezone,
            "schedule_id": "reports.daily",
        }
    ],
)
async def daily_report(
    session: Session = TaskiqDepends(), settings: StackSettings = TaskiqDepends()
) -> int:
    return await compute_daily_report(session, timezone=settings.timezone)


@broker.task(
    task_name="imports.cleanup",
    schedulable=True,
    schedule=[{"cron": "*/30 * * * *", "schedule_id": "imports.cleanup"}],
)
async def cleanup_uploads(
    session: Session = TaskiqDepends(), settings: StackSettings = TaskiqDepends()
) -> int:
    return await purge_old_uploads(
        session, retention=timedelta(hours=settings.upload_retention_hours)
    )
