# Celery ships no type information, so its decorators are untyped to mypy.
# mypy: disable-error-code="untyped-decorator"
"""Per-child event loop, engine and sessionmaker: the `worker_process_init` workaround.

Prefork children inherit the parent's memory, so anything async built before the fork belongs
to the wrong loop. As the articles do, each child builds its own loop and pool when it starts,
keeps them in a module global, and tasks read that global lazily through `get_runtime()` (an
import-time `from ... import worker_loop` would capture the parent's `None`).
"""

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = ["Runtime", "get_runtime"]


@dataclass(frozen=True, slots=True)
class Runtime:
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("worker_process_init has not run in this process")
    return _runtime


@worker_process_init.connect
def _init_child(**_: Any) -> None:
    global _runtime
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    engine = create_async_engine(os.environ["BENCH_CELERY_DATABASE_URL"], pool_pre_ping=True)
    _runtime = Runtime(loop, engine, async_sessionmaker(engine, expire_on_commit=False))


@worker_process_shutdown.connect
def _close_child(**_: Any) -> None:
    global _runtime
    if _runtime is not None:
        _runtime.loop.run_until_complete(_runtime.engine.dispose())
        _runtime.loop.close()
        _runtime = None
