"""Which Redis and PostgreSQL the tests use: configured, else local defaults, else embedded."""

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from deploy.embedded import EmbeddedServers, local_port_answers

LOCAL_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class TestServers:
    database_url: str
    redis_url: str
    embedded: EmbeddedServers | None = field(default=None)

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
            shutil.rmtree(self.embedded.data_dir.parent, ignore_errors=True)


def resolve_test_servers() -> TestServers:
    if os.environ.get("STACK_EMBEDDED") == "1":  # as `make up`: embedded servers, whatever runs
        return _embedded(None, None)
    database_url = os.environ.get("TEST_DATABASE_URL") or (
        LOCAL_DATABASE_URL if local_port_answers(5432) else None
    )
    redis_url = os.environ.get("TEST_REDIS_URL") or (
        LOCAL_REDIS_URL if local_port_answers(6379) else None
    )
    if database_url and redis_url:
        return TestServers(database_url, redis_url)
    return _embedded(database_url, redis_url)


def _embedded(database_url: str | None, redis_url: str | None) -> TestServers:
    # A fresh folder per session, outside pytest's tmp_path: as root, PostgreSQL runs as another
    # user, and every new pytest session resets /tmp/pytest-of-root to 0700.
    embedded = EmbeddedServers(Path(tempfile.mkdtemp(prefix="stack-test-")) / "stack")
    urls = embedded.start()
    return TestServers(
        database_url or urls.database_url, redis_url or urls.redis_url, embedded=embedded
    )
