"""Which Redis and PostgreSQL the tests use: configured, else local defaults, else embedded."""

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deploy.embedded import EmbeddedServers

LOCAL_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class TestServers:
    database_url: str
    redis_url: str
    embedded: "EmbeddedServers | None" = field(default=None)

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def resolve_test_servers() -> TestServers:
    database_url = os.environ.get("TEST_DATABASE_URL") or (
        LOCAL_DATABASE_URL if _answers(5432) else None
    )
    redis_url = os.environ.get("TEST_REDIS_URL") or (LOCAL_REDIS_URL if _answers(6379) else None)
    if database_url and redis_url:
        return TestServers(database_url, redis_url)
    from deploy.embedded import EmbeddedServers  # only a machine without servers needs it

    embedded = EmbeddedServers(Path(__file__).resolve().parents[2] / ".stack" / "test")
    urls = embedded.start()
    return TestServers(
        database_url or urls.database_url, redis_url or urls.redis_url, embedded=embedded
    )
