"""Celery's `task_always_eager`, the taskiq way: unit tests of a task body.

`InMemoryBroker(await_inplace=True)` runs the task inside `.kiq()`, through the same
dependency injection a worker uses. The task is the production one, registered on the test
broker; its dependencies are overridden to this test's real resources (PostgreSQL database,
Redis), so the only thing not real is the queue. Delivery, retries and timing are proven on
real workers elsewhere (tests/patterns/test_task_request.py and the rest).
"""

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from taskiq import InMemoryBroker

from core.db.models import Import, ImportStatus, Order
from core.imports.storage import store_upload
from core.resources import Resources, open_resources
from core.settings import Settings
from tasks.deps import get_resources
from tasks.imports import run_import_task
from tests.support.http import orders_csv


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    async with open_resources(settings.model_copy(update={"db_pool_size": 2})) as opened:
        yield opened


@pytest.fixture
async def eager(resources: Resources) -> AsyncIterator[InMemoryBroker]:
    broker = InMemoryBroker(await_inplace=True)
    broker.register_task(run_import_task.original_func, task_name=run_import_task.task_name)
    # Every task dependency (session, Redis, settings) derives from `get_resources`.
    broker.dependency_overrides[get_resources] = lambda: resources
    await broker.startup()
    try:
        yield broker
    finally:
        await broker.shutdown()


async def stored_import(resources: Resources, upload: bytes) -> uuid.UUID:
    async with resources.sessionmaker.begin() as session:
        row = await store_upload(session, upload)
    return row.id


async def test_import_task_body_writes_its_orders(
    eager: InMemoryBroker, resources: Resources
) -> None:
    import_id = await stored_import(resources, orders_csv(3, prefix="eager-"))

    task = await run_import_task.kicker().with_broker(eager).kiq(import_id)

    # Already done: kiq() returned after the task body did.
    result = await task.get_result()
    assert (result.is_err, result.return_value) == (False, ImportStatus.SUCCEEDED.value)
    async with resources.sessionmaker() as session:
        orders = await session.scalar(select(func.count()).where(Order.import_id == import_id))
        row = await session.get(Import, import_id)
    assert orders == 3
    assert row is not None
    assert (row.rows_done, row.status) == (3, ImportStatus.SUCCEEDED)


async def test_import_task_body_reports_a_missing_import(
    eager: InMemoryBroker, resources: Resources
) -> None:
    missing = uuid.uuid4()
    result = await (await run_import_task.kicker().with_broker(eager).kiq(missing)).get_result()
    assert result.is_err
    assert repr(result.error) == repr(LookupError(f"import {missing} does not exist"))
