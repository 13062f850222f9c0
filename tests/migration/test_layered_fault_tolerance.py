"""The import's database status is critical; its Redis notification is best effort."""

import logging
import uuid

import pytest
from redis.asyncio import Redis
from taskiq import InMemoryBroker

from core.db.models import Import, ImportStatus
from core.resources import Resources
from tasks.deps import get_redis
from tests.support.processes import free_port


async def test_an_import_succeeds_and_logs_warnings_when_redis_is_down(
    memory_broker: InMemoryBroker,
    resources: Resources,
    stored_import: uuid.UUID,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on this port: every publish fails with a connection error.
    dead_redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    memory_broker.dependency_overrides[get_redis] = lambda: dead_redis
    task = memory_broker.find_task("imports.run")
    assert task is not None
    try:
        with caplog.at_level(logging.WARNING, logger="core.notify"):
            result = await (await task.kiq(stored_import)).wait_result(timeout=30)
    finally:
        await dead_redis.aclose()

    assert (result.is_err, result.return_value) == (False, "succeeded")
    async with resources.sessionmaker() as session:
        row = await session.get(Import, stored_import)
    assert row is not None
    assert (row.status, row.rows_done) == (ImportStatus.SUCCEEDED, 5)
    # One warning per notification: running, the one batch, succeeded.
    warnings = [r.getMessage() for r in caplog.records if r.name == "core.notify"]
    assert len(warnings) == 3
    assert all(
        w.startswith(f"notification on {resources.settings.key('imports')}") for w in warnings
    )
