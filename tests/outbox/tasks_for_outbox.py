"""The task the outbox tests kick, registered on the production broker.

It counts every run in Redis (`runs`: task id -> executions) and makes its effect, one row in
`outbox_effects`, only on the first processing of its message: a duplicate delivery shows as a
second run, never as a second row (the table has no unique key that would hide one).
"""

import uuid

from sqlalchemy import text
from taskiq import Context, TaskiqDepends
from taskiq_durable import first_processing

from core.settings import Settings
from tasks.broker import broker
from tasks.deps import RedisClient, Session, StackSettings

TABLES = (
    "CREATE TABLE outbox_jobs (id uuid PRIMARY KEY)",
    "CREATE TABLE outbox_effects (job uuid NOT NULL, task_id text NOT NULL)",
)


def runs_key(settings: Settings) -> str:
    return settings.key("test", "outbox-runs")


@broker.task(task_name="tests.outbox.effect")
async def effect(
    job: uuid.UUID,
    context: Context = TaskiqDepends(),
    session: Session = TaskiqDepends(),
    redis: RedisClient = TaskiqDepends(),
    settings: StackSettings = TaskiqDepends(),
) -> None:
    task_id = context.message.task_id
    await redis.hincrby(runs_key(settings), task_id, 1)
    if await first_processing(session, task_id):
        await session.execute(
            text("INSERT INTO outbox_effects (job, task_id) VALUES (:job, :task_id)"),
            {"job": job, "task_id": task_id},
        )
