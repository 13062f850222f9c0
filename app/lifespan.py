"""The web process's startup and shutdown: its own resources, and the broker as a client."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core.resources import open_resources
from core.settings import get_settings
from tasks.broker import broker


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with open_resources(get_settings()) as resources:
        app.state.resources = resources
        await broker.startup()
        try:
            yield
        finally:
            await broker.shutdown()
