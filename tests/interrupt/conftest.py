"""Fixtures for the time-limit and revoke tests: the worker command with the test-only tasks and
the tasks' event log."""

from collections.abc import Callable, Iterator

import pytest
from redis import Redis as SyncRedis

from core.settings import Settings
from tests.interrupt.tasks_for_tests import events_key
from tests.support.processes import worker_command

# Small pools: several engineers share one PostgreSQL server.
SMALL_POOLS = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2"}
WORKER = worker_command("tests.interrupt.tasks_for_tests")

Events = Callable[[], dict[str, float]]


@pytest.fixture
def events(settings: Settings) -> Iterator[Events]:
    """What the test tasks recorded: event name -> Unix time."""
    redis = SyncRedis.from_url(settings.redis_url, decode_responses=True)

    def read() -> dict[str, float]:
        return {str(k): float(v) for k, v in redis.hgetall(events_key(settings)).items()}

    try:
        yield read
    finally:
        redis.close()
