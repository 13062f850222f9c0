"""What tasks can ask for, as `Annotated` aliases.

    async def task(order_id: str, session: Session = TaskiqDepends()) -> None: ...

The alias carries the dependency (taskiq reads `Annotated` metadata before the default); the
`= TaskiqDepends()` default only tells type checkers that callers of `.kiq()` don't pass it.
"""

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import TaskiqDepends, TaskiqState
from taskiq_durable.cpu_pool import CpuPool

from core.db.session import session_scope
from core.resources import Resources
from core.settings import Settings


def get_resources(state: Annotated[TaskiqState, TaskiqDepends()]) -> Resources:
    resources: Resources = state.resources
    return resources


async def get_session(
    resources: Annotated[Resources, TaskiqDepends(get_resources)],
) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(resources.sessionmaker):
        yield session


def get_redis(resources: Annotated[Resources, TaskiqDepends(get_resources)]) -> Redis:
    return resources.redis


def get_http(resources: Annotated[Resources, TaskiqDepends(get_resources)]) -> httpx.AsyncClient:
    return resources.http


def get_cpu_pool(state: Annotated[TaskiqState, TaskiqDepends()]) -> CpuPool:
    pool: CpuPool = state.cpu_pool
    return pool


def get_settings_dep(resources: Annotated[Resources, TaskiqDepends(get_resources)]) -> Settings:
    return resources.settings


Session = Annotated[AsyncSession, TaskiqDepends(get_session)]
RedisClient = Annotated[Redis, TaskiqDepends(get_redis)]
StackSettings = Annotated[Settings, TaskiqDepends(get_settings_dep)]
HttpClient = Annotated[httpx.AsyncClient, TaskiqDepends(get_http)]
Cpu = Annotated[CpuPool, TaskiqDepends(get_cpu_pool)]
