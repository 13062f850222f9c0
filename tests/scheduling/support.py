"""Helpers for scheduler tests: add schedules the way the admin API does, read what was sent."""

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from taskiq import ScheduledTask
from taskiq_durable.scheduler.sources import RuntimeScheduleSource
from taskiq_durable.scheduler.specs import TICK_LABEL

from core.settings import Settings
from tests.support.processes import StackProcess, wait_until


@dataclass(frozen=True)
class Sent:
    tick: datetime
    at: datetime  # when the message reached the stream (Redis server clock, ms)
    task_id: str

    @property
    def lateness(self) -> float:
        return (self.at - self.tick).total_seconds()


def add_schedule(
    settings: Settings, task: ScheduledTask, *, handled: datetime | None = None
) -> None:
    """Store `task` as a runtime schedule; `handled` pretends its last tick was handled then."""

    async def add() -> None:
        source = RuntimeScheduleSource(settings.durable())
        try:
            await source.add_schedule(task)
            if handled is not None:
                await source.state.reset(task.schedule_id, handled)
        finally:
            await source.shutdown()

    asyncio.run(add())


def sent(settings: Settings, schedule_id: str) -> list[Sent]:
    """Every message the scheduler put on the queue for `schedule_id`, in stream order."""
    with Redis.from_url(settings.redis_url) as redis:
        entries = redis.xrange(settings.key("queue", "default"))
    found = []
    for entry_id, fields in entries:
        message = json.loads(fields[b"data"])
        labels = message["labels"]
        if labels.get("schedule_id") == schedule_id:
            ms = int(entry_id.split(b"-")[0])
            found.append(
                Sent(
                    tick=datetime.fromisoformat(labels[TICK_LABEL]),
                    at=datetime.fromtimestamp(ms / 1000).astimezone(),
                    task_id=message["task_id"],
                )
            )
    return found


def wait_started(*schedulers: StackProcess) -> None:
    for process in schedulers:
        wait_until(
            lambda p=process: "Startup completed." in p.log(),  # type: ignore[misc]
            within=60,
            what=f"{process.name} startup",
        )
