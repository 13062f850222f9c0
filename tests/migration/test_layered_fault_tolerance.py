"""The import's database status is critical; its Redis notification is best effort."""

import dataclasses
import logging
import uuid

import pytest
from redis.asyncio import Redis
from taskiq import InMemoryBroker

from core.db.models import Import, ImportStatus
from core.imports.storage import store_upload
from core.resources import open_resources
from core.settings import Settings
from tasks.deps import get_resources
from tests.support.http import orders_csv
from tests.support.processes import free_port


async def test_an_import_succeeds_and_logs_warnings_when_redis_is_down(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from tasks.imports import run_import_task  # imported here: collecting tests builds no broker

    upload = orders_csv(5, prefix=f"f{uuid.uuid4().hex[:6]}-")
    # Nothing listens on this port: every publish fails with a connection error.
    dead_redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    async with open_resources(settings) as resources:
        async with resources.sessionmaker.begin() as session:
            row = await store_upload(session, upload)
        # The real task body, run in this process; only its Redis client is the broken one.
        broker = InMemoryBroker(await_inplace=True)
        broker.register_task(run_import_task.original_func, task_name=run_import_task.task_name)
        broker.dependency_overrides[get_resources] = lambda: dataclasses.replace(
            resources, redis=dead_redis
        )
        try:
            with caplog.at_level(logging.WARNING, logger="core.notify"):
                task = await run_import_task.kicker().with_broker(broker).kiq(row.id)
                result = await task.wait_result(timeout=30)
        finally:
            await dead_redis.aclose()
        async with resources.sessionmaker() as session:
            stored = await session.get(Import, row.id)

    assert (result.is_err, result.return_value) == (False, "succeeded")
    assert stored is not None
    assert (stored.status, stored.rows_done) == (ImportStatus.SUCCEEDED, 5)
    # One warning per notification (running, the one batch, succeeded), none raised.
    warnings = [r.getMessage() for r in caplog.records if r.name == "core.notify"]
    assert len(warnings) == 3
    assert all(
        w.startswith(f"notification on {settings.key('imports', str(row.id))}") for w in warnings
    )
