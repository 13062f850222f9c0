"""The worker runtime: what each worker child builds at startup and closes at shutdown.

`taskiq worker` forks its children before importing anything of ours, and each child runs these
hooks on its own loop: one engine, one sessionmaker and one Redis client per child.
"""

import logging
from contextlib import AsyncExitStack
from datetime import timedelta

from taskiq import AsyncBroker, TaskiqState
from taskiq_durable import OutboxRelay
from taskiq_durable.cpu_pool import open_cpu_pool
from taskiq_durable.dead_letters.sql import SqlDeadLetterStore
from taskiq_durable.fatal import stop_worker

from core.db.pool_budget import PoolBudgetError, enforce_budget
from core.db.schema import SchemaNotReadyError, wait_for_schema
from core.resources import open_resources
from core.settings import Settings

logger = logging.getLogger(__name__)


class WorkerRuntime:
    def __init__(
        self, settings: Settings, dead_letters: SqlDeadLetterStore, broker: AsyncBroker
    ) -> None:
        self._settings = settings
        self._dead_letters = dead_letters
        self._broker = broker

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
        # The outbox's recovery path (docs/patterns/transactions.md) runs in every worker child:
        # not in the web process (nothing long-running there), not in the scheduler (a stack
        # may run without one, and a worker is what consumes the rows anyway). SKIP LOCKED and
        # per-aggregate locks let the children share the rows without sending one twice.
        relay = OutboxRelay(
            resources.engine,
            self._broker,
            delay=settings.outbox_relay_delay_seconds,
            retention=timedelta(hours=settings.outbox_retention_hours),
        )
        await stack.enter_async_context(relay.running())
        logger.info("worker resources ready")

    async def shutdown(self, state: TaskiqState) -> None:
        stack: AsyncExitStack | None = getattr(state, "exit_stack", None)
        if stack is not None:
            await stack.aclose()
