"""The web process's startup and shutdown: its own resources, and the broker as a client."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from taskiq_durable.scheduler.sources import RuntimeScheduleSource

from app.event_streams import EventStreams
from core.db.pool_budget import enforce_budget
from core.resources import open_resources
from core.settings import Settings
from tasks.broker import broker

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def lifespan_for(settings: Settings) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            await enforce_budget(resources.engine, settings)
            app.state.resources = resources
            # GET /imports/{id}/events: one subscription for all streams, half the pool for reads.
            app.state.event_streams = streams = EventStreams(
                resources.redis,
                settings.key("imports", "*"),
                concurrent_reads=settings.db_pool_size // 2,
            )
            # Runtime schedules (/admin/schedules): the source's pool connects on first use.
            app.state.schedule_source = source = RuntimeScheduleSource(settings.durable())
            await broker.startup()
            try:
                yield
            finally:
                await broker.shutdown()
                await source.shutdown()
                await streams.close()

    return lifespan
