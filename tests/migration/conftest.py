"""Task bodies run in this process on taskiq's InMemoryBroker: Celery's `task_always_eager`.

The task function is the production one (`run_import_task.original_func`), registered on an
in-memory broker under its production name; its dependencies resolve from real resources
(PostgreSQL and Redis of this test) unless a test overrides one.
"""

import uuid
from collections.abc import AsyncIterator

import pytest
from taskiq import InMemoryBroker

from core.db.models import Import
from core.resources import Resources, open_resources
from core.settings import Settings
from tests.support.http import orders_csv


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    async with open_resources(settings) as opened:
        yield opened


@pytest.fixture
async def memory_broker(resources: Resources) -> AsyncIterator[InMemoryBroker]:
    from tasks.imports import run_import_task  # imported here: collecting tests builds no broker

    # await_inplace: `.kiq()` returns after the task ran, as `task_always_eager` did.
    broker = InMemoryBroker(await_inplace=True)
    broker.register_task(run_import_task.original_func, task_name=run_import_task.task_name)
    # What the worker's startup hook puts there (tasks/runtime.py), for tasks/deps.py to read.
    broker.state.resources = resources
    async with broker:
        yield broker


@pytest.fixture
async def stored_import(resources: Resources) -> uuid.UUID:
    """An import as `POST /imports` leaves it: the upload stored, status queued."""
    upload = orders_csv(5, prefix=f"m{uuid.uuid4().hex[:6]}-")
    async with resources.sessionmaker.begin() as session:
        row = Import(upload=upload, upload_bytes=len(upload), task_id=uuid.uuid4().hex)
        session.add(row)
    return row.id
