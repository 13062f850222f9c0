# Celery ships no type information, so its decorators are untyped to mypy.
# mypy: disable-error-code="untyped-decorator"
"""The baseline's tasks: sync functions that run an inner coroutine on the child's loop."""

import asyncio
import time

from sqlalchemy import insert

from bench.celery_baseline.app import app
from bench.celery_baseline.runtime import get_runtime
from bench.schema import rows, ticks

__all__ = ["insert_row", "noop", "sleep", "tick"]

STACK = "celery"


@app.task(name="bench.celery.noop")
def noop() -> None:
    async def inner() -> None:
        return None

    get_runtime().loop.run_until_complete(inner())


@app.task(name="bench.celery.sleep")
def sleep(seconds: float) -> None:
    get_runtime().loop.run_until_complete(asyncio.sleep(seconds))


@app.task(name="bench.celery.insert_row")
def insert_row(run_id: str, seq: int) -> None:
    runtime = get_runtime()

    async def inner() -> None:
        async with runtime.sessions() as session:
            await session.execute(insert(rows).values(stack=STACK, run_id=run_id, seq=seq))
            await session.commit()

    runtime.loop.run_until_complete(inner())


@app.task(name="bench.celery.tick")
def tick(run_id: str) -> None:
    started_at = time.time()
    runtime = get_runtime()

    async def inner() -> None:
        async with runtime.sessions() as session:
            await session.execute(
                insert(ticks).values(stack=STACK, run_id=run_id, started_at=started_at)
            )
            await session.commit()

    runtime.loop.run_until_complete(inner())
