# Celery ships no type information, so its decorators are untyped to mypy.
# mypy: disable-error-code="untyped-decorator"
"""The baseline's tasks: sync functions that run an inner coroutine on the child's loop."""

import asyncio
import time

from sqlalchemy import Executable, insert

from bench import schema
from bench.celery_baseline.app import app
from bench.celery_baseline.runtime import get_runtime
from bench.peer_runtime import write
from bench.schema import ticks

__all__ = ["insert_row", "insert_rows", "noop", "sleep", "tick"]

STACK = "celery"


@app.task(name="bench.celery.noop")
def noop() -> None:
    async def inner() -> None:
        return None

    get_runtime().loop.run_until_complete(inner())


@app.task(name="bench.celery.sleep")
def sleep(seconds: float) -> None:
    get_runtime().loop.run_until_complete(asyncio.sleep(seconds))


def _write(statement: Executable) -> None:
    """Run one statement in a transaction of its own on the child's loop and pool."""
    runtime = get_runtime()
    runtime.loop.run_until_complete(write(runtime.sessions, statement))


@app.task(name="bench.celery.insert_row")
def insert_row(run_id: str, seq: int) -> None:
    _write(schema.insert_row(STACK, run_id, seq))


@app.task(name="bench.celery.insert_rows")
def insert_rows(run_id: str, first: int, count: int) -> None:
    _write(schema.insert_rows(STACK, run_id, first, count))


@app.task(name="bench.celery.tick")
def tick(run_id: str) -> None:
    _write(insert(ticks).values(stack=STACK, run_id=run_id, started_at=time.time()))
