"""Alembic environment: async migrations through asyncpg, URL from the stack's settings."""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from taskiq_durable.dead_letters.sql import metadata as dead_letter_metadata
from taskiq_durable.outbox.table import metadata as outbox_metadata

from core.db.models import Base
from core.settings import get_settings

if context.config.config_file_name is not None and context.config.attributes.get(
    "configure_logging", True
):
    fileConfig(context.config.config_file_name)

# Our tables, and the delivery layer's dead letters (created by 0002_dead_letters) and outbox
# (0004_outbox).
target_metadata = [Base.metadata, dead_letter_metadata, outbox_metadata]


def run_with(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    url = context.config.attributes.get("database_url") or get_settings().database_url
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
asyncio.run(run_online())
