"""`uvicorn bench.taskiq_side.antipattern:app`: what the articles warn about, for W4 only.

The stack's web app, whose lifespan also starts the receiver and the scheduler inside the web
process with `asyncio.create_task(run_receiver_task(...))` / `run_scheduler(...)`, so
tasks and schedules compete with requests for one event loop. Never deploy this.
"""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from taskiq.api import run_receiver_task
from taskiq_durable.receiver import DurableReceiver
from taskiq_durable.scheduler.run import run_scheduler

from app.lifespan import lifespan_for
from app.main import create_app
from bench.taskiq_side import tasks as bench_tasks
from tasks import registry
from tasks.broker import broker, settings

__all__ = ["app"]

# Imported for their side effect: the receiver finds tasks in the broker's registry.
_TASK_MODULES = (registry, bench_tasks)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with lifespan_for(settings)(app):
        background = [
            # The Procfile's receiver, and startup as a worker (WORKER_STARTUP builds the
            # resources the tasks' dependencies read): what it takes to make this run at all.
            asyncio.create_task(
                run_receiver_task(
                    broker,
                    receiver_cls=DurableReceiver,
                    # The Procfile worker's `--max-async-tasks ${WORKER_CONCURRENCY:-100}`.
                    max_async_tasks=int(os.environ.get("WORKER_CONCURRENCY", "100")),
                    run_startup=True,
                )
            ),
            asyncio.create_task(run_scheduler(broker, settings.durable(), start_broker=False)),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


app = create_app(settings)
app.router.lifespan_context = lifespan
