"""The connection budget: every process's pool together must fit the server's `max_connections`.

Each process owns a pool of `pool_size + max_overflow` connections: a web server, each worker
child, the release step. Their sum, plus a reserve for psql, migrations and monitoring, must
stay under the server's limit, or the processes fail at the worst time — under load.

    python -m core.db.pool_budget --web 4 --worker-children 8     # what pools fit this server?

For a deployment, give the replica counts at full scale (KEDA's maxReplicaCount, plus a
rollout's surge): each container's own startup check sees only itself.

    python -m core.db.pool_budget --max-connections 200 --web-replicas 3 \
        --worker-replicas default=6 --worker-processes default=2 \
        --worker-replicas urgent=3 --worker-processes urgent=1 --scheduler-replicas 3
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
    max_connections: int,
    processes: int,
    *,
    reserve: float = 0.1,
    overflow_share: float = 1 / 3,
    fixed: int = 0,
) -> PoolPlan:
    """The largest equal pool per process that fits beside `fixed` unpooled connections;
    `overflow_share` of it is overflow."""
    allowed = allowed_connections(max_connections, reserve)
    per_process = (allowed - fixed) // processes
    if per_process < 1:
        after_fixed = f", {allowed - fixed} after {fixed} unpooled" if fixed else ""
        raise PoolBudgetError(
            f"{processes} processes cannot have a connection each: the server allows "
            f"{max_connections} connections, {allowed} after a {reserve:.0%} reserve{after_fixed}"
        )
    overflow = math.floor(per_process * overflow_share)
    pool_size = per_process - overflow
    return PoolPlan(pool_size, overflow, processes, processes * per_process + fixed, allowed)


# Connections outside the pools: a scheduler opens one at start (the schema wait); the release
# step one for the migrations and one for the seed data, while the old processes still run.
SCHEDULER_CONNECTIONS = 1
RELEASE_CONNECTIONS = 2


@dataclass(frozen=True, slots=True)
class WorkerGroup:
    queue: str
    replicas: int
    processes: int  # WORKER_PROCESSES: children per replica, each with its own pool


@dataclass(frozen=True, slots=True)
class Deployment:
    """Replica counts at full scale: every process that can hold connections at once."""

    web_replicas: int
    web_processes: int  # WEB_PROCESSES: server processes per web replica
    workers: tuple[WorkerGroup, ...]
    scheduler_replicas: int

    @property
    def pooled_processes(self) -> int:
        workers = sum(group.replicas * group.processes for group in self.workers)
        return self.web_replicas * self.web_processes + workers

    @property
    def fixed_connections(self) -> int:
        return self.scheduler_replicas * SCHEDULER_CONNECTIONS + RELEASE_CONNECTIONS


def plan_deployment(
    max_connections: int, deployment: Deployment, *, reserve: float = 0.1
) -> PoolPlan:
    """The pool settings every web and worker process of `deployment` can share."""
    return plan_pools(
        max_connections,
        deployment.pooled_processes,
        reserve=reserve,
        fixed=deployment.fixed_connections,
    )


def describe(max_connections: int, deployment: Deployment, plan: PoolPlan) -> list[str]:
    """The report of the CLI: who holds how many connections."""
    per_process = plan.pool_size + plan.max_overflow
    lines = [
        f"max_connections={max_connections}, usable after reserve: {plan.allowed}",
        f"web: {deployment.web_replicas} replicas x {deployment.web_processes} processes"
        f" x {per_process} = {deployment.web_replicas * deployment.web_processes * per_process}",
    ]
    lines += [
        f"worker {group.queue}: {group.replicas} replicas x {group.processes} children"
        f" x {per_process} = {group.replicas * group.processes * per_process}"
        for group in deployment.workers
    ]
    lines += [
        f"scheduler: {deployment.scheduler_replicas} replicas x {SCHEDULER_CONNECTIONS}"
        f" = {deployment.scheduler_replicas * SCHEDULER_CONNECTIONS}",
        f"release step: {RELEASE_CONNECTIONS}",
        f"{plan.processes} pooled processes -> "
        f"DB_POOL_SIZE={plan.pool_size} DB_MAX_OVERFLOW={plan.max_overflow}",
        f"at most {plan.total} connections in use",
    ]
    return lines


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


def _count(text: str, minimum: int = 1) -> int:
    if not text.isdigit() or int(text) < minimum:
        raise argparse.ArgumentTypeError(f"a whole number >= {minimum}, not {text!r}")
    return int(text)


def _queue_counts(values: list[str], flag: str) -> dict[str, int]:
    counts = {}
    for value in values:
        queue, sep, number = value.partition("=")
        if not sep or not queue or not number.isdigit() or int(number) < 1:
            raise argparse.ArgumentTypeError(f"{flag} takes QUEUE=N (N >= 1), not {value!r}")
        counts[queue] = int(number)
    return counts


def deployment_from_args(args: argparse.Namespace, settings: Settings) -> Deployment:
    replicas = _queue_counts(args.worker_replicas, "--worker-replicas")
    processes = _queue_counts(args.worker_processes, "--worker-processes")
    if unknown := set(processes) - set(replicas):
        raise argparse.ArgumentTypeError(
            f"--worker-processes names queues without --worker-replicas: {sorted(unknown)}"
        )
    # Without --worker-replicas: one worker of this machine's queue, as `make up` runs it.
    replicas = replicas or {settings.worker_queue: 1}
    workers = tuple(
        WorkerGroup(queue, count, processes.get(queue, args.worker_children))
        for queue, count in replicas.items()
    )
    return Deployment(args.web_replicas, args.web_processes, workers, args.scheduler_replicas)


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="python -m core.db.pool_budget",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--max-connections", type=_count, metavar="N", help="default: ask DATABASE_URL's server"
    )
    parser.add_argument("--web-replicas", type=_count, metavar="N", default=1)
    parser.add_argument(
        "--web-processes",
        "--web",
        type=_count,
        metavar="N",
        default=settings.web_processes,
        help="web server processes per replica (default: WEB_PROCESSES)",
    )
    parser.add_argument(
        "--worker-replicas",
        action="append",
        default=[],
        metavar="QUEUE=N",
        help="worker replicas of a queue, once per queue (default: WORKER_QUEUE=1)",
    )
    parser.add_argument(
        "--worker-processes",
        action="append",
        default=[],
        metavar="QUEUE=N",
        help="children per replica of that queue's worker (default: --worker-children)",
    )
    parser.add_argument(
        "--worker-children",
        type=_count,
        metavar="N",
        default=settings.worker_processes,
        help="children per worker replica (default: WORKER_PROCESSES)",
    )
    parser.add_argument(
        "--scheduler-replicas", type=lambda text: _count(text, 0), metavar="N", default=1
    )
    parser.add_argument("--reserve", type=float, default=settings.db_connection_reserve)
    args = parser.parse_args(argv)
    try:
        deployment = deployment_from_args(args, settings)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    try:
        max_connections = args.max_connections or asyncio.run(
            server_max_connections(settings.database_url)
        )
    except (OSError, asyncpg.PostgresError) as exc:
        parser.exit(1, f"cannot ask DATABASE_URL's server ({exc!r}); pass --max-connections\n")
    try:
        plan = plan_deployment(max_connections, deployment, reserve=args.reserve)
    except PoolBudgetError as exc:
        parser.exit(1, f"{exc}\n")
    print("\n".join(describe(max_connections, deployment, plan)))


if __name__ == "__main__":
    main()
