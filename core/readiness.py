"""Is the stack ready to do its work? `GET /ready` and `python -m tasks.inspect ready` ask this.

Ready means: PostgreSQL answers, Redis answers, the schema is at the migrations' head (the
release step ran), and every configured queue has at least one live worker child (its
heartbeat younger than the redelivery timeout: taskiq_durable.presence). Each check has its
own timeout, and a failed one says why.
"""

import asyncio
import functools
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from taskiq_durable.presence import live_workers

from core.db.schema import head_revision
from core.resources import Resources

__all__ = ["readiness"]

CHECK_TIMEOUT = 2.0


@functools.cache
def _head() -> str:
    """The migrations' head: read from disk once per process, not at every probe."""
    return head_revision()


async def _database(resources: Resources) -> dict[str, Any]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), resources.engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except SQLAlchemyError as exc:
        # No alembic_version table (the release step never ran) is a ProgrammingError too.
        if "alembic_version" in str(exc):
            return {"up": True, "schema": None, "head": _head(), "ready": False}
        return {"up": False, "error": repr(exc), "ready": False}
    except (OSError, TimeoutError) as exc:
        return {"up": False, "error": repr(exc), "ready": False}
    return {"up": True, "schema": current, "head": _head(), "ready": current == _head()}


async def _workers(resources: Resources) -> dict[str, Any]:
    config = resources.settings.durable()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            workers = await live_workers(resources.redis, config)
    except (RedisError, OSError, TimeoutError) as exc:
        return {"up": False, "error": repr(exc), "ready": False}
    live = {queue: 0 for queue in config.queues}
    for worker in workers:
        if worker["queue"] in live:
            live[worker["queue"]] += 1
    return {"up": True, "live_workers": live, "ready": all(live.values())}


async def readiness(resources: Resources) -> dict[str, Any]:
    """{"ready": bool, "database": {...}, "redis": {...}}; each part says what is missing."""
    database, redis = await asyncio.gather(_database(resources), _workers(resources))
    if database["up"] and not database["ready"]:
        database["problem"] = "schema not at head: run the release step (make release)"
    if redis["up"] and not redis["ready"]:
        idle = [queue for queue, count in redis["live_workers"].items() if not count]
        redis["problem"] = f"no live worker reads queue(s) {', '.join(idle)}"
    return {"ready": database["ready"] and redis["ready"], "database": database, "redis": redis}
