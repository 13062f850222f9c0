"""What waits outside the streams (delayed messages, schedules), what the workers can run, and
what failed for good. Rows are plain dicts, as in taskiq_durable/inspect/streams.py; the
newest dead letters come from their store (`taskiq_durable.dead_letters.sql.recent`)."""

import json
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from taskiq import AsyncBroker

from taskiq_durable.config import DurableConfig
from taskiq_durable.delayed import due_set_key
from taskiq_durable.inspect.streams import Row, message_summary
from taskiq_durable.queues import route, stream_name
from taskiq_durable.scheduler.sources import RuntimeScheduleSource


def _when(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds")


async def delayed(redis: Redis, settings: DurableConfig, *, limit: int = 100) -> list[Row]:
    """Messages parked until a due time: retries in backoff, countdown/eta kicks, rate-limited
    starts, the soonest first. The sorted sets are taskiq_durable/delayed.py's: one per queue
    stream (`<stream>:delayed`), and the shared one older versions kept (`<prefix>:delayed`)."""
    rows = []
    keys = [due_set_key(stream_name(settings, queue)) for queue in settings.queues]
    parked: list[Any] = []
    for key in [*keys, settings.key("delayed")]:
        parked += await redis.zrange(key, 0, limit - 1, withscores=True)
    for member, due in sorted(parked, key=lambda entry: float(entry[1]))[:limit]:
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


async def schedules(settings: DurableConfig) -> list[Row]:
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


def registered(broker: AsyncBroker, settings: DurableConfig) -> list[Row]:
    """Every task this code base's workers can run, with its queue and label schedules."""
    rows = []
    for name, task in sorted(broker.get_all_tasks().items()):
        queue = route(name, task.labels, settings.task_routes, settings.default_queue)
        crons = [entry.get("cron") for entry in task.labels.get("schedule", [])]
        rows.append({"task": name, "queue": queue, "schedule": ", ".join(filter(None, crons))})
    return rows
