"""What the security tests share: a web process, the control routes, and the stored state."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from redis import Redis
from sqlalchemy.engine import make_url
from taskiq_durable.dead_letters import DeadLetterReason
from taskiq_durable.dead_letters.sql import DeadLetterRow

from core.settings import Settings
from tests.conftest import StartProcess
from tests.delivery.retry_support import database
from tests.support.http import wait_healthy
from tests.support.processes import StackProcess, free_port

SMALL_POOLS = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2"}
SECRET_TRACEBACK = "Traceback (most recent call last):\n  ValueError: card 4111-1111"


@dataclass(frozen=True)
class ControlRoute:
    method: str
    path: str  # with the ids of the seeded dead letter and schedule filled in
    role: str  # "viewer" or "operator"
    body: dict[str, Any] | None = None

    @property
    def template(self) -> str:
        """The route as the app declares it (OpenAPI path)."""
        return (
            self.path.replace("/1/", "/{letter_id}/")
            .replace("/seeded", "/{schedule_id}")
            .replace("/t-1/", "/{task_id}/")
        )


NEW_SCHEDULE = {"schedule_id": "added", "task_name": "imports.cleanup", "interval_seconds": 60}
# Every control route, the role it needs, and a request it would accept from that role.
CONTROL_ROUTES = [
    ControlRoute("GET", "/admin/dead-letters", "viewer"),
    ControlRoute("POST", "/admin/dead-letters/1/replay", "operator"),
    ControlRoute("GET", "/admin/schedules", "viewer"),
    ControlRoute("GET", "/admin/schedules/seeded", "viewer"),
    ControlRoute("POST", "/admin/schedules", "operator", NEW_SCHEDULE),
    ControlRoute("DELETE", "/admin/schedules/seeded", "operator"),
    ControlRoute("POST", "/tasks/t-1/revoke", "operator"),
]


@contextmanager
def web_client(start: StartProcess, **env: str) -> Iterator[tuple[httpx.Client, StackProcess]]:
    port = free_port()
    process = start("web", PORT=str(port), **SMALL_POOLS, **env)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        wait_healthy(client, process)
        yield client, process


def call(client: httpx.Client, route: ControlRoute, **kwargs: Any) -> httpx.Response:
    return client.request(route.method, route.path, json=route.body, **kwargs)


def seed(settings: Settings, client: httpx.Client, operator: dict[str, str]) -> None:
    """A dead letter (id 1, with a traceback) and a runtime schedule `seeded` to act on."""

    async def insert() -> int:
        async with database(settings) as sessionmaker, sessionmaker() as session:
            letter = DeadLetterRow(
                task_name="imports.cleanup",
                task_id="dead-1",
                args=[],
                kwargs={},
                labels={},
                reason=DeadLetterReason.EXHAUSTED,
                error="ValueError: card 4111-1111",
                traceback=SECRET_TRACEBACK,
                attempts=3,
            )
            session.add(letter)
            await session.commit()
            return letter.id

    assert asyncio.run(insert()) == 1, "the routes table names dead letter 1"
    body = NEW_SCHEDULE | {"schedule_id": "seeded"}
    created = client.post("/admin/schedules", json=body, headers=operator)
    assert created.status_code == 201, created.text


def redis_dump(settings: Settings) -> dict[bytes, bytes | None]:
    """Every key of this test's stack with its serialized value: equal dumps, same state."""
    with Redis.from_url(settings.redis_url) as redis:
        keys = sorted(redis.scan_iter(match=f"{settings.redis_prefix}:*", count=1000))
        return {key: redis.dump(key) for key in keys}


def row_counts(settings: Settings) -> dict[str, int]:
    """Rows of every table of this test's database, and the dead letters' replay marks."""

    async def count() -> dict[str, int]:
        url = make_url(settings.database_url).set(drivername="postgresql")
        conn = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
            counts = {
                row["tablename"]: await conn.fetchval(f'SELECT count(*) FROM "{row["tablename"]}"')
                for row in tables
            }
            counts["dead_letters replayed"] = await conn.fetchval(
                "SELECT count(*) FROM dead_letters WHERE replayed_at IS NOT NULL"
            )
            return counts
        finally:
            await conn.close()

    return asyncio.run(count())
