"""What routes can ask for, as `Annotated` aliases: `async def r(session: SessionDep)`."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.session import session_scope
from core.resources import Resources
from core.settings import Settings


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(resources.sessionmaker):
        yield session


def get_redis(resources: ResourcesDep) -> Redis:
    return resources.redis


def get_settings_dep(resources: ResourcesDep) -> Settings:
    return resources.settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
RedisDep = Annotated[Redis, Depends(get_redis)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
