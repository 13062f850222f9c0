"""The task the topology tests run: its effect and every execution are rows in PostgreSQL, so
what a Redis failover loses cannot hide a lost or doubled task."""

import os

from sqlalchemy import text
from taskiq import TaskiqDepends

from tasks.broker import broker
from tasks.deps import Session

TABLES = (
    "CREATE TABLE topology_effects (n integer PRIMARY KEY)",
    "CREATE TABLE topology_runs (n integer NOT NULL, pid integer NOT NULL)",
)


@broker.task(task_name="tests.redis_topologies.effect")
async def effect(n: int, session: Session = TaskiqDepends()) -> None:
    """The idempotent-consumer shape: the effect is keyed by `n`; every run is counted."""
    await session.execute(
        text("INSERT INTO topology_runs (n, pid) VALUES (:n, :pid)"), {"n": n, "pid": os.getpid()}
    )
    await session.execute(
        text("INSERT INTO topology_effects (n) VALUES (:n) ON CONFLICT DO NOTHING"), {"n": n}
    )
