"""What waits outside the streams (delayed messages, schedules), what the workers can run, and
what failed for good. Rows are plain dicts, as in tasks/inspect/streams.py."""

import json
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from core.settings import Settings
from scheduler.sources import RuntimeScheduleSource
from tasks.dead_letters.service import list_letters
from tasks.inspect.streams import Row, message_summary
from tasks.queues import route


def _when(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds")


async def delayed(redis: Redis, settings: Settings, *, limit: int = 100) -> list[Row]:
    """Messages parked until a due time: retries in backoff, countdown/eta kicks, rate-limited
    starts. The sorted set is the one tasks/delayed.py keeps (`<prefix>:delayed`)."""
    rows = []
    parked: list[Any] = await redis.zrange(settings.key("delayed"), 0, limit - 1, withscores=True)
    for member, due in parked:
        envelope = json.loads(member)
        message = json.loads(envelope["data"])
        rows.append(
            {
                "due": _when(due),
                **message_summary(envelope["data"]),
                "stream": envelope["stream"],
                "retries": message.get("labels", {}).get("retries", 0),
            }
        )
    return rows


async def schedules(settings: Settings) -> list[Row]:
    """Runtime schedules (`/admin/schedules`), as the scheduler reads them."""
    source = RuntimeScheduleSource(settings)
    try:
        stored = await source.all_schedules()
    finally:
        await source.shutdown()
    return [
        {
            "schedule_id": schedule.schedule_id,
            "task": schedule.task_name,
            "cron": schedule.cron,
            "interval": schedule.interval,
            "time": schedule.time.isoformat() if schedule.time else None,
        }
        for schedule in stored
    ]


def registered(broker: AsyncBroker, settings: Settings) -> list[Row]:
    """Every task this code base's workers can run, with its queue and label schedules."""
    rows = []
    for name, task in sorted(broker.get_all_tasks().items()):
        queue = route(name, task.labels, settings.task_routes)
        crons = [entry.get("cron") for entry in task.labels.get("schedule", [])]
        rows.append({"task": name, "queue": queue, "schedule": ", ".join(filter(None, crons))})
    return rows


async def dead_letters(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = 20
) -> list[Row]:
    """The newest dead letters (full records and replay: `python -m tasks.dead_letters`)."""
    async with sessionmaker() as session:
        letters = await list_letters(session, limit=limit)
    return [
        {
            "id": letter.id,
            "created_at": letter.created_at.isoformat(timespec="seconds"),
            "reason": letter.reason.value,
            "task": letter.task_name,
            "task_id": letter.task_id,
            "attempts": letter.attempts,
            "error": letter.error[:120],
        }
        for letter in letters
    ]
