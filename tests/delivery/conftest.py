"""Fixtures for the delivery tests: the worker with the test-only tasks, and a synchronous view
of the stream (the client broker is tests/conftest.py's `client_broker`)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tests.conftest import StartProcess
from tests.delivery.tasks_for_tests import done_key, runs_key, touch
from tests.support.processes import StackProcess, procfile_commands, wait_until

TEST_TASKS = "tests.delivery.tasks_for_tests"


def worker_command() -> str:
    """The Procfile's worker line, also importing the test-only tasks."""
    command = procfile_commands()["worker"]
    command = command.replace("tasks.registry", f"tasks.registry {TEST_TASKS}")
    # Per-task INFO lines cost a loaded 2-core machine more than the tasks do.
    return f"{command} --log-level WARNING"


StartWorker = Callable[..., StackProcess]


@pytest.fixture
def start_worker(start: StartProcess) -> StartWorker:
    """Start a worker with the test tasks and small DB pools (test runs share PostgreSQL)."""

    def _start(command: str | None = None, **env: str) -> StackProcess:
        pools = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2"}
        return start("worker", command or worker_command(), **(pools | env))

    return _start


async def warm_up(broker: AsyncBroker, redis: SyncRedis, settings: Settings) -> None:
    """Wait until a worker runs tasks: a child is up, past its startup hooks."""
    await touch.kicker().with_broker(broker).kiq("warm-up")
    wait_until(lambda: redis.hexists(done_key(settings), "warm-up"), within=90, what="worker up")


@dataclass
class StreamView:
    redis: SyncRedis
    stream: str
    group: str

    def pending(self) -> int:
        return int(self.redis.xpending(self.stream, self.group)["pending"])

    def lag(self) -> int:
        """Entries not yet delivered to the group."""
        (group,) = [g for g in self.redis.xinfo_groups(self.stream) if g["name"] == self.group]
        return int(group["lag"])

    def length(self) -> int:
        return int(self.redis.xlen(self.stream))

    def idle(self) -> bool:
        return self.pending() == 0 and self.lag() == 0

    def pending_of(self, pid: int) -> set[str]:
        """Ids pending on the consumer(s) of process `pid` (consumer names carry the pid)."""
        ids: set[str] = set()
        for consumer in self.redis.xinfo_consumers(self.stream, self.group):
            name = str(consumer["name"])
            if f":{pid}:" in name and consumer["pending"]:
                entries = self.redis.xpending_range(
                    self.stream, self.group, "-", "+", 10_000, consumername=name
                )
                ids |= {str(entry["message_id"]) for entry in entries}
        return ids


@pytest.fixture
def stream(settings: Settings) -> Iterator[StreamView]:
    redis = SyncRedis.from_url(settings.redis_url, decode_responses=True)
    try:
        yield StreamView(redis, settings.key("queue", "default"), settings.key("workers"))
    finally:
        redis.close()


@pytest.fixture
def sync_redis(settings: Settings) -> Iterator[SyncRedis]:
    redis = SyncRedis.from_url(settings.redis_url, decode_responses=True)
    try:
        yield redis
    finally:
        redis.close()


def run_counts(redis: SyncRedis, settings: Settings) -> dict[str, int]:
    """How many times each test task ran, by name (tasks_for_tests.py)."""
    return {str(name): int(count) for name, count in redis.hgetall(runs_key(settings)).items()}
