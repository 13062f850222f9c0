"""`DurableReceiver` in one event loop on real Redis: one decode per message, the task function
wrapped in the receiver (the registry untouched), and the broker sized by the receiver's limit."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from redis import Redis as SyncRedis
from taskiq import BrokerMessage, TaskiqMessage
from taskiq.abc.formatter import TaskiqFormatter
from taskiq_durable import DurableBroker, DurableConfig, build_broker
from taskiq_durable.dead_letters.letters import DeadLetter
from taskiq_durable.receiver import DurableReceiver, HandOver
from taskiq_durable.time_limits import TimeLimitExceeded

if TYPE_CHECKING:
    from tests.support.servers import TestServers


class Letters:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    async def record(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


class Counting(TaskiqFormatter):
    def __init__(self, inner: TaskiqFormatter) -> None:
        self.inner = inner
        self.loads_calls = 0

    def dumps(self, message: TaskiqMessage) -> BrokerMessage:
        return self.inner.dumps(message)

    def loads(self, message: bytes) -> TaskiqMessage:
        self.loads_calls += 1
        return self.inner.loads(message)


@pytest.fixture
async def broker(servers: "TestServers") -> AsyncIterator[DurableBroker]:
    config = DurableConfig(redis_url=servers.redis_url, redis_prefix=f"r{uuid.uuid4().hex[:10]}")
    broker = build_broker(config, dead_letters=Letters())
    await broker.startup()  # as a client: the receiver's calls need the result backend only
    try:
        yield broker
    finally:
        await broker.shutdown()
        with SyncRedis.from_url(servers.redis_url) as redis:
            keys = list(redis.scan_iter(match=f"{config.redis_prefix}:*", count=1000))
            if keys:
                redis.delete(*keys)


async def test_each_message_is_decoded_once_and_runs_with_its_labels_parsed(
    broker: DurableBroker,
) -> None:
    async def add(x: int) -> int:
        return x + 1

    broker.register_task(add, task_name="lib.add")
    counting = Counting(broker.formatter)
    broker.with_formatter(counting)
    receiver = DurableReceiver(broker, max_async_tasks=2)
    assert isinstance(broker.formatter, HandOver)

    # A typed label (bytes) would be corrupted by a second parse of already parsed labels.
    message = TaskiqMessage(
        task_id="once", task_name="lib.add", labels={}, args=[1], kwargs={}
    ).model_copy(update={"labels": {"blob": "aGk="}, "labels_types": {"blob": 6}})
    await asyncio.create_task(receiver.callback(broker.formatter.dumps(message).message))
    result = await broker.results.get_result("once")
    assert (counting.loads_calls, result.return_value) == (1, 2)
    assert result.labels["blob"] == "hi"  # decoded from base64 once (JSON holds it as text)


async def test_time_limits_stop_a_task_through_the_receiver_without_touching_the_registry(
    broker: DurableBroker,
) -> None:
    async def slow() -> None:
        await asyncio.sleep(30)

    registered = broker.register_task(slow, task_name="lib.slow", time_limit=0.2)
    receiver = DurableReceiver(broker, max_async_tasks=1)
    message = TaskiqMessage(
        task_id="slow-1", task_name="lib.slow", labels=registered.labels, args=[], kwargs={}
    )
    raw = broker.formatter.dumps(message).message
    await asyncio.wait_for(asyncio.create_task(receiver.callback(raw)), 10)
    assert isinstance((await broker.results.get_result("slow-1")).error, TimeLimitExceeded)
    assert broker.find_task("lib.slow") is registered
    assert registered.original_func is slow  # wrapped per run, never replaced


@pytest.mark.parametrize(
    ("limits", "low", "high"),
    [
        ({"max_async_tasks": 7}, 7, 7),
        ({"max_async_tasks": 3, "max_prefetch": 2}, 5, 5),
        ({"max_async_tasks": 3, "max_async_tasks_jitter": 4}, 3, 7),
    ],
)
async def test_the_receivers_limit_sizes_the_brokers_fetches(
    broker: DurableBroker, limits: dict[str, int], low: int, high: int
) -> None:
    receiver = DurableReceiver(broker, **limits)
    capacity = broker.capacity
    assert capacity is not None
    assert low <= capacity <= high
    # The same number as taskiq's delivery slots: the receiver asks for exactly that many.
    for _ in range(capacity):
        await asyncio.wait_for(receiver.sem_prefetch.acquire(), 1)
    assert receiver.sem_prefetch.locked()


async def test_a_receiver_without_a_limit_leaves_the_broker_unsized(broker: DurableBroker) -> None:
    DurableReceiver(broker, max_async_tasks=0)
    assert broker.capacity is None  # the worker's startup refuses to run (streams/broker.py)
