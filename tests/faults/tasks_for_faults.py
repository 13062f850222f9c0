"""Tasks that exist only for the fault and soak tests, registered on the production broker.

`effect(n)` is the idempotent-consumer shape a production task has: its effect is a row keyed by
the job id `n` (`fault_effects`, ON CONFLICT DO NOTHING), so a redelivery changes nothing. In the
same transaction every execution that commits adds a row to `fault_commits` (no key): more rows
than jobs there means some job ran to its commit twice, which the effect table hides by design.
It retries what a database restart or a full pool raises, as a production task would.
"""

import asyncio
import os

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from taskiq import TaskiqDepends
from taskiq_durable.retry import Retries

from tasks.broker import broker
from tasks.deps import Session

MODULE = "tests.faults.tasks_for_faults"

TABLES = (
    "CREATE TABLE fault_effects (n bigint PRIMARY KEY, pid integer NOT NULL)",
    "CREATE TABLE fault_commits (n bigint NOT NULL, pid integer NOT NULL)",
)

# What a PostgreSQL restart (a dropped connection, a refused connect) and a full pool raise.
TRANSIENT = (DBAPIError, PoolTimeoutError, OSError)


@broker.task(
    task_name="tests.faults.effect",
    max_attempts=20,
    retry_base=0.2,
    retry_cap=2.0,
    types_of_exceptions=TRANSIENT,
)
async def effect(
    n: int,
    hold: float = 0.0,
    fail_first: bool = False,
    session: Session = TaskiqDepends(),
    retry: Retries = TaskiqDepends(),
) -> int:
    """Store job `n`'s effect once; `hold` keeps the session (and its connection) that long;
    `fail_first` fails the first attempt after writing, so that attempt is rolled back."""
    pid = os.getpid()
    await session.execute(
        text("INSERT INTO fault_effects (n, pid) VALUES (:n, :pid) ON CONFLICT DO NOTHING"),
        {"n": n, "pid": pid},
    )
    await session.execute(
        text("INSERT INTO fault_commits (n, pid) VALUES (:n, :pid)"), {"n": n, "pid": pid}
    )
    if hold:
        await asyncio.sleep(hold)
    if fail_first and retry.retries == 0:
        raise ConnectionError(f"job {n}: the first attempt fails on purpose")
    return n
