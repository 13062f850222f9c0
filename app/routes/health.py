"""`GET /health`: 200 when the database and Redis answer, 503 with the reason otherwise.
`GET /ready`: 200 when the stack can do its work (core/readiness.py), 503 saying what is missing.
"""

import asyncio
from typing import Any

from fastapi import APIRouter, Response, status
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from app.deps import ResourcesDep
from core.readiness import readiness

router = APIRouter(tags=["health"])

CHECK_TIMEOUT = 2.0


@router.get(
    "/health",
    responses={503: {"description": "the database or Redis is down", "model": dict[str, Any]}},
)
async def health(resources: ResourcesDep, response: Response) -> dict[str, Any]:
    database: dict[str, Any] = {"up": True}
    redis: dict[str, Any] = {"up": True}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), resources.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        database = {"up": False, "error": repr(exc)}
    pool = resources.engine.pool
    if isinstance(pool, QueuePool):
        database["pool"] = {"size": pool.size(), "checked_out": pool.checkedout()}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await resources.redis.ping()
    except (RedisError, OSError, TimeoutError) as exc:
        redis = {"up": False, "error": repr(exc)}
    up = database["up"] and redis["up"]
    if not up:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "ok" if up else "degraded", "database": database, "redis": redis}


@router.get(
    "/ready",
    responses={
        503: {
            "description": "the database or Redis is down, the schema is not at head, or a"
            " configured queue has no live worker",
            "model": dict[str, Any],
        }
    },
)
async def ready(resources: ResourcesDep, response: Response) -> dict[str, Any]:
    report = await readiness(resources)
    if not report["ready"]:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return report
