"""Fixtures of the fault tests: the worker with the fault tasks on small pools, the effect
tables, and the delivery tests' synchronous stream view."""

from collections.abc import AsyncIterator, Callable

import pytest

from core.settings import Settings
from tests.conftest import StartProcess
from tests.delivery.conftest import stream, sync_redis
from tests.faults.support import SMALL_POOLS, WORKER, Effects
from tests.support.processes import StackProcess

__all__ = ["effects", "start_fault_worker", "stream", "sync_redis"]

StartFaultWorker = Callable[..., StackProcess]


@pytest.fixture
def start_fault_worker(start: StartProcess) -> StartFaultWorker:
    def _start(name: str = "worker", **env: str) -> StackProcess:
        return start(name, WORKER, **(SMALL_POOLS | env))

    return _start


@pytest.fixture
async def effects(settings: Settings) -> AsyncIterator[Effects]:
    table = await Effects.create(settings)
    try:
        yield table
    finally:
        await table.close()
