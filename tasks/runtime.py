"""The worker runtime: what each worker child builds at startup and closes at shutdown.

`taskiq worker` forks its children before importing anything of ours, and each child runs these
hooks on its own loop: one engine, one sessionmaker and one Redis client per child.
"""

import logging
from contextlib import AsyncExitStack

from taskiq import TaskiqState
from taskiq_durable.cpu_pool import open_cpu_pool
from taskiq_durable.dead_letters.sql import SqlDeadLetterStore
from taskiq_durable.fatal import stop_worker

from core.db.pool_budget import PoolBudgetError, enforce_budget
from core.db.schema import SchemaNotReadyError, wait_for_schema
from core.resources import open_resources
from core.settings import Settings

logger = logging.getLogger(__name__)


class WorkerRuntime:
    def __init__(self, settings: Settings, dead_letters: SqlDeadLetterStore) -> None:
        self._settings = settings
        self._dead_letters = dead_letters

    async def startup(self, state: TaskiqState) -> None:
        settings = self._settings
        try:
            await wait_for_schema(settings.database_url, within=settings.schema_wait_seconds)
        except SchemaNotReadyError as exc:
            raise stop_worker(str(exc)) from exc
        stack = AsyncExitStack()
        state.exit_stack = stack
        state.resources = resources = await stack.enter_async_context(open_resources(settings))
        try:
            await enforce_budget(resources.engine, settings)
        except PoolBudgetError as exc:
            raise stop_worker(str(exc)) from exc
        self._dead_letters.bind(resources.sessionmaker)
        # Worker-only: the web and the scheduler never run CPU-bound task bodies.
        state.cpu_pool = await stack.enter_async_context(open_cpu_pool(settings.cpu_processes))
        logger.info("worker resources ready")

    async def shutdown(self, state: TaskiqState) -> None:
        stack: AsyncExitStack | None = getattr(state, "exit_stack", None)
        if stack is not None:
            await stack.aclose()
