"""Unit-testing a task body without a worker: InMemoryBroker plus dependency overrides."""

import json
import uuid

from redis.asyncio import Redis
from taskiq import InMemoryBroker

from core.db.models import Import, ImportStatus
from core.resources import Resources
from core.settings import Settings
from tasks.deps import get_settings_dep


async def test_import_task_body_runs_in_memory_with_an_overridden_dependency(
    memory_broker: InMemoryBroker,
    resources: Resources,
    stored_import: uuid.UUID,
    settings: Settings,
    redis_client: Redis,
) -> None:
    # Overridden as in FastAPI: batches of 2 rows, so the 5 rows are written in 3 batches.
    small_batches = settings.model_copy(update={"import_batch_size": 2})
    memory_broker.dependency_overrides[get_settings_dep] = lambda: small_batches
    task = memory_broker.find_task("imports.run")
    assert task is not None
    async with redis_client.pubsub() as pubsub:
        await pubsub.subscribe(settings.key("imports", str(stored_import)))
        await pubsub.get_message(timeout=1.0)  # the subscribe confirmation

        # await_inplace: the task has run when kiq() returns.
        result = await (await task.kiq(stored_import)).wait_result(timeout=10)

        published = []
        while message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0):
            published.append(json.loads(message["data"]))

    assert (result.is_err, result.return_value) == (False, "succeeded")
    assert [(p["status"], p["rows_done"]) for p in published] == [
        ("running", 0),
        ("running", 2),
        ("running", 4),
        ("running", 5),
        ("succeeded", 5),
    ]
    async with resources.sessionmaker() as session:
        row = await session.get(Import, stored_import)
    assert row is not None
    assert (row.status, row.rows_done, row.rows_rejected) == (ImportStatus.SUCCEEDED, 5, 0)
