"""`taskiq scheduler scheduler.main:scheduler tasks.registry`: the scheduler process.

Schedules come from task labels (cron jobs in code) and from Redis (runtime schedules managed
through /admin/schedules, JSON). Any number of these processes may run: each tick is sent once
(docs/scheduling.md).
"""

import asyncio
import contextlib

from taskiq import AsyncBroker, ScheduleSource, TaskiqEvents, TaskiqScheduler, TaskiqState
from taskiq.schedule_sources import LabelScheduleSource
from taskiq_durable.scheduler.loop import TickLoop
from taskiq_durable.scheduler.sources import RuntimeScheduleSource

from core.db.schema import wait_for_schema
from core.settings import Settings
from tasks.broker import broker
from tasks.broker import settings as _settings


async def wait_for_release(state: TaskiqState) -> None:
    """Send nothing before the release step has brought the schema to head."""
    await wait_for_schema(_settings.database_url, within=_settings.schema_wait_seconds)


# Registered here, not in tasks.broker: only the scheduler process imports this module.
broker.add_event_handler(TaskiqEvents.CLIENT_STARTUP, wait_for_release)


class StackScheduler(TaskiqScheduler):
    """taskiq's scheduler process (CLI, task imports, logging, Ctrl-C, broker lifecycle) driving
    our `TickLoop`.

    taskiq's own loop is given no sources, so it idles; the sources belong to the tick loop,
    which sends through the inherited `on_ready`. Sources are built at startup, in this
    process's event loop, not at import.
    """

    def __init__(self, broker: AsyncBroker, settings: Settings) -> None:
        super().__init__(broker, sources=[])
        self._settings = settings
        self._owned: list[ScheduleSource] = []
        self._ticking: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        await super().startup()
        runtime = RuntimeScheduleSource(self._settings.durable())
        for source in (LabelScheduleSource(self.broker), runtime):
            await source.startup()
            self._owned.append(source)
        loop = TickLoop(self._owned, runtime.state, self.on_ready, self._settings.durable())
        self._ticking = asyncio.create_task(loop.run(), name="tick-loop")

    async def shutdown(self) -> None:
        if self._ticking is not None:
            self._ticking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticking
        for source in reversed(self._owned):
            await source.shutdown()
        await super().shutdown()


scheduler = StackScheduler(broker, _settings)
