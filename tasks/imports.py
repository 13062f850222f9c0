"""The order-import task: the message carries only the import id; the upload is in PostgreSQL."""

import uuid
from typing import Any

from taskiq import TaskiqDepends

from core.imports.run import run_import
from core.notify import publish
from tasks.broker import broker
from tasks.deps import RedisClient, Session, StackSettings


@broker.task(task_name="imports.run")
async def run_import_task(
    import_id: uuid.UUID,
    session: Session = TaskiqDepends(),
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> str:
    async def notify(payload: dict[str, Any]) -> bool:
        return await publish(redis, settings.key("imports", str(import_id)), payload)

    status = await run_import(
        session,
        import_id,
        timezone=settings.timezone,
        batch_size=settings.import_batch_size,
        notify=notify,
    )
    return status.value
