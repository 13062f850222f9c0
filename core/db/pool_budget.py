"""The connection budget: every process's pool together must fit the server's `max_connections`.

Each process owns a pool of `pool_size + max_overflow` connections: a web server, each worker
child, the release step. Their sum, plus a reserve for psql, migrations and monitoring, must
stay under the server's limit, or the processes fail at the worst time — under load.

    python -m core.db.pool_budget --web 4 --worker-children 8     # what pools fit this server?
"""

import argparse
import asyncio
import logging
import math
from dataclasses import dataclass

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings, get_settings

logger = logging.getLogger(__name__)


class PoolBudgetError(RuntimeError):
    """The configured pools can open more connections than the server allows."""


@dataclass(frozen=True, slots=True)
class PoolPlan:
    pool_size: int
    max_overflow: int
    processes: int
    total: int
    allowed: int


def allowed_connections(max_connections: int, reserve: float) -> int:
    """What the stack may use of the server's limit, keeping `reserve` (a fraction) free."""
    return math.floor(max_connections * (1 - reserve))


def plan_pools(
    max_connections: int, processes: int, *, reserve: float = 0.1, overflow_share: float = 1 / 3
) -> PoolPlan:
    """The largest equal pool per process that fits; `overflow_share` of it is overflow."""
    allowed = allowed_connections(max_connections, reserve)
    per_process = allowed // processes
    if per_process < 1:
        raise PoolBudgetError(
            f"{processes} processes cannot have a connection each: the server allows "
            f"{max_connections} connections, {allowed} after a {reserve:.0%} reserve"
        )
    overflow = math.floor(per_process * overflow_share)
    pool_size = per_process - overflow
    return PoolPlan(pool_size, overflow, processes, processes * per_process, allowed)


def check_budget(settings: Settings, max_connections: int) -> None:
    """Refuse to start when the configured pools of all processes can exceed the server's limit."""
    processes = settings.web_processes + settings.worker_processes
    per_process = settings.db_pool_size + settings.db_max_overflow
    total = processes * per_process
    allowed = allowed_connections(max_connections, settings.db_connection_reserve)
    if total > allowed:
        plan = plan_pools(max_connections, processes, reserve=settings.db_connection_reserve)
        raise PoolBudgetError(
            f"connection budget exceeded: {processes} processes ({settings.web_processes} web, "
            f"{settings.worker_processes} worker children) x {per_process} connections "
            f"(DB_POOL_SIZE={settings.db_pool_size} + DB_MAX_OVERFLOW={settings.db_max_overflow}) "
            f"= {total}, but the server allows {max_connections} and "
            f"{settings.db_connection_reserve:.0%} stays in reserve ({allowed} usable). "
            f"Set DB_POOL_SIZE={plan.pool_size} DB_MAX_OVERFLOW={plan.max_overflow}, "
            f"run fewer processes, or raise max_connections."
        )


async def enforce_budget(engine: AsyncEngine, settings: Settings) -> None:
    """The startup check of web and worker: raise `PoolBudgetError` when over budget.

    A database that does not answer yet is not a budget problem: the check is skipped with a
    warning, and /health (or the worker's schema wait) reports the outage.
    """
    try:
        async with engine.connect() as conn:
            max_connections = int((await conn.execute(text("SHOW max_connections"))).scalar_one())
    except (OSError, SQLAlchemyError) as exc:
        logger.warning("connection budget not checked, database unreachable: %r", exc)
        return
    check_budget(settings, max_connections)


async def server_max_connections(database_url: str) -> int:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SHOW max_connections"))
    finally:
        await conn.close()


def main() -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m core.db.pool_budget", description=__doc__)
    parser.add_argument("--web", type=int, default=settings.web_processes, help="web processes")
    parser.add_argument(
        "--worker-children", type=int, default=settings.worker_processes, help="worker children"
    )
    parser.add_argument("--reserve", type=float, default=settings.db_connection_reserve)
    args = parser.parse_args()
    max_connections = asyncio.run(server_max_connections(settings.database_url))
    plan = plan_pools(max_connections, args.web + args.worker_children, reserve=args.reserve)
    print(f"max_connections={max_connections}, usable after reserve: {plan.allowed}")
    pools = f"DB_POOL_SIZE={plan.pool_size} DB_MAX_OVERFLOW={plan.max_overflow}"
    print(f"{plan.processes} processes -> {pools}")
    print(f"at most {plan.total} connections in use")


if __name__ == "__main__":
    main()
