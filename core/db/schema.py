"""Waiting for the release step: worker and scheduler start only on a schema at head."""

import asyncio
import logging
import time
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine

logger = logging.getLogger(__name__)
# Loading the script directory logs one INFO line per Alembic plugin, in every worker child.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


class SchemaNotReadyError(RuntimeError):
    """The release step has not brought the database to head in time."""


ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def head_revision() -> str:
    config = Config(str(ALEMBIC_INI))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise RuntimeError("the migrations folder has no head revision")
    return head


async def current_revision(database_url: str) -> str | None:
    engine = create_async_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except ProgrammingError:
        return None  # no alembic_version table: the release step never ran
    finally:
        await engine.dispose()


async def wait_for_schema(database_url: str, *, within: float, poll: float = 1.0) -> None:
    """Return once the database is at head; raise after `within` seconds with the reason."""
    head = head_revision()
    deadline = time.monotonic() + within
    last_logged = 0.0
    while True:
        try:
            current: str | None = await current_revision(database_url)
            reason = f"schema at {current or 'nothing'}, head is {head}"
        except (OSError, OperationalError, DBAPIError) as exc:
            current, reason = None, f"database unreachable ({exc.__class__.__name__}: {exc})"
        if current == head:
            return
        now = time.monotonic()
        if now >= deadline:
            raise SchemaNotReadyError(
                f"database schema not ready after {within:.0f}s: {reason}; run `make release`"
            )
        if now - last_logged >= 5:
            logger.warning("waiting for the release step: %s", reason)
            last_logged = now
        await asyncio.sleep(poll)
