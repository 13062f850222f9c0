"""An urgent task does not wait behind the default queue's backlog: its own stream, its own
worker. Both workers are those `make up --procfile deploy/Procfile.queues` runs for QUEUES
(deploy.queue_workers): the shared `worker` entry for default, `worker_urgent` for urgent."""

import asyncio
import itertools
import shlex
import time

from honcho.environ import parse_procfile
from redis.asyncio import Redis
from taskiq import AsyncBroker

from core.settings import Settings
from deploy.queue_workers import plan
from tests.conftest import StartProcess
from tests.patterns.conftest import until
from tests.queues.tasks_for_tests import ping, slow
from tests.support.processes import ROOT

BACKLOG = 5_000
# Each default-queue task holds a slot this long: the worker is busy for the whole test, and
# a stopping child finishes what it runs within the teardown grace.
SLOW_SECONDS = 2.0
URGENT_BOUND = 1.0  # the feature: an urgent task finishes within a second, whatever the backlog
TEST_TASKS = "tests.queues.tasks_for_tests"


def queue_workers(queues: tuple[str, ...]) -> dict[str, str]:
    """Queue -> the command of its worker under deploy/Procfile.queues."""
    processes = parse_procfile((ROOT / "deploy" / "Procfile.queues").read_text()).processes
    return plan(processes, queues)


def with_test_tasks(command: str) -> str:
    return command.replace("tasks.registry", f"tasks.registry {TEST_TASKS}")


def test_each_queue_worker_gives_settings_and_flags_the_same_numbers() -> None:
    workers = queue_workers(("default", "urgent", "emails"))
    assert workers["emails"] == workers["default"]  # a queue without its own entry: the shared
    for command in workers.values():
        words = shlex.split(command)
        env = dict(word.split("=", 1) for word in words[1 : words.index("taskiq")])
        flag = dict(itertools.pairwise(words))
        # The delivery code sizes reads by WORKER_CONCURRENCY, the budget counts WORKER_PROCESSES.
        assert env["WORKER_CONCURRENCY"] == flag["--max-async-tasks"]
        assert env["WORKER_PROCESSES"] == flag["--workers"]
    assert "WORKER_QUEUE=urgent" in workers["urgent"]
    assert "WORKER_QUEUE" not in workers["default"]


async def group_state(redis: Redis, stream: str) -> tuple[int, int]:
    """(pending, lag) of the workers' group on `stream`; (0, 0) before the group exists."""
    if not await redis.exists(stream):
        return 0, 0
    for group in await redis.xinfo_groups(stream):
        return int(group["pending"]), int(group["lag"] or 0)
    return 0, 0


async def kick_backlog(broker: AsyncBroker) -> None:
    for _batch in range(BACKLOG // 500):
        kicks = (slow.kicker().with_broker(broker).kiq(SLOW_SECONDS) for _ in range(500))
        await asyncio.gather(*kicks)


async def time_urgent(broker: AsyncBroker) -> float:
    started = time.monotonic()
    task = await ping.kicker().with_broker(broker).kiq()
    result = await task.wait_result(check_interval=0.01, timeout=30)
    elapsed = time.monotonic() - started
    assert not result.is_err, result.error
    return elapsed


async def test_urgent_task_finishes_within_a_second_behind_a_5000_task_backlog(
    start: StartProcess, settings: Settings, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    pools = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2"}
    for queue, command in queue_workers(settings.queues).items():
        start(f"worker_{queue}", with_test_tasks(command), WORKER_QUEUE=queue, **pools)
    # Ready: the urgent worker answers (its first start includes imports and the DB check).
    await (await ping.kicker().with_broker(client_broker).kiq()).wait_result(timeout=90)

    await kick_backlog(client_broker)
    default = settings.key("queue", "default")

    async def default_busy() -> bool:
        pending, lag = await group_state(redis_client, default)
        return pending > 0 and lag > 0

    await until(default_busy, within=60, what="the default worker busy with a backlog behind")

    latencies = [await time_urgent(client_broker) for _ in range(3)]
    _pending, lag = await group_state(redis_client, default)
    print(f"urgent latencies {[f'{s:.3f}' for s in latencies]} s; default backlog {lag}")
    assert max(latencies) < URGENT_BOUND, latencies
    # The backlog was still there when the urgent tasks were done: they did not wait for it.
    assert lag > BACKLOG - 1_000
    assert await redis_client.xlen(settings.key("queue", "urgent")) >= 1
