"""The web process's startup and shutdown: its own resources, and the broker as a client."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core.db.pool_budget import enforce_budget
from core.resources import open_resources
from core.settings import get_settings
from tasks.broker import broker
from tasks.results import ResultWaiter


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    async with open_resources(settings) as resources:
        await enforce_budget(resources.engine, settings)
        app.state.resources = resources
        await broker.startup()
        # How routes await task results (app.deps.ResultsDep): one sweep for all of them.
        app.state.results = results = ResultWaiter.for_broker(broker)
        try:
            yield
        finally:
            await results.close()
            await broker.shutdown()
