"""Each assumption `taskiq_durable.compat` lists, checked against the installed taskiq,
taskiq-redis and redis-py: a test here fails, naming the assumption, when a release changes it.

The private names these tests read are upstream's own definitions of the layouts we mirror; the
library itself uses none (tests/architecture/test_private_names.py).
"""

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from redis import Redis as SyncRedis
from taskiq import InMemoryBroker, ScheduledTask, TaskiqMessage, TaskiqMiddleware, TaskiqResult
from taskiq.abc.formatter import TaskiqFormatter
from taskiq.cli.worker import run as worker_run
from taskiq.message import BrokerMessage
from taskiq.receiver import Receiver
from taskiq.serializers import JSONSerializer
from taskiq_durable.compat import PROGRESS_KEY_SUFFIX, ScheduleKeys, result_key
from taskiq_durable.config import DurableConfig
from taskiq_durable.result_backend import ResultBackend
from taskiq_durable.scheduler.sources import RuntimeScheduleSource
from taskiq_redis import ListRedisScheduleSource, RedisAsyncResultBackend

if TYPE_CHECKING:
    from tests.support.servers import TestServers


@pytest.fixture
def config(servers: "TestServers") -> Iterator[DurableConfig]:
    config = DurableConfig(redis_url=servers.redis_url, redis_prefix=f"c{uuid.uuid4().hex[:10]}")
    try:
        yield config
    finally:
        with SyncRedis.from_url(servers.redis_url) as redis:
            keys = list(redis.scan_iter(match=f"{config.redis_prefix}:*", count=1000))
            if keys:
                redis.delete(*keys)


# 1. Result keys --------------------------------------------------------------------------------


def test_result_keys_are_where_taskiq_redis_keeps_them() -> None:
    upstream = RedisAsyncResultBackend[Any]("redis://127.0.0.1:6379/0", prefix_str="p:result")
    assert result_key("p:result", "abc") == upstream._task_name("abc")


@pytest.fixture
async def backends(
    config: DurableConfig,
) -> AsyncIterator[tuple[ResultBackend, RedisAsyncResultBackend[Any]]]:
    ours = ResultBackend.for_config(config)
    theirs = RedisAsyncResultBackend[Any](
        config.redis_url, prefix_str=config.key("result"), serializer=JSONSerializer()
    )
    await ours.startup()
    await theirs.startup()
    try:
        yield ours, theirs
    finally:
        await theirs.shutdown()
        await ours.shutdown()


async def test_results_and_progress_round_trip_with_a_plain_taskiq_redis_backend(
    backends: tuple[ResultBackend, RedisAsyncResultBackend[Any]],
) -> None:
    from taskiq.depends.progress_tracker import TaskProgress, TaskState

    ours, theirs = backends
    result = TaskiqResult[int](is_err=False, return_value=7, execution_time=0.5)
    await theirs.set_result("from-theirs", result)
    assert (await ours.get_result("from-theirs")).return_value == 7
    await ours.set_result("from-ours", result)
    assert (await theirs.get_result("from-ours")).return_value == 7
    progress = TaskProgress[Any](state=TaskState.STARTED, meta={"step": 1})
    await theirs.set_progress("from-theirs", progress)
    assert await ours.get_progress("from-theirs") == progress
    assert await ours.redis.exists(ours.key("from-theirs") + PROGRESS_KEY_SUFFIX)


# 2. Runtime schedule keys ----------------------------------------------------------------------


def test_schedule_keys_are_those_of_taskiq_redis_list_source() -> None:
    upstream = ListRedisScheduleSource("redis://127.0.0.1:6379/0", prefix="p")
    keys = ScheduleKeys("p")
    at = datetime(2026, 5, 1, 8, 30, 15, tzinfo=UTC)
    assert (keys.cron, keys.interval) == (upstream._get_cron_key(), upstream._get_interval_key())
    assert keys.data("x") == upstream._get_data_key("x")
    assert keys.time(at) == upstream._get_time_key(at)
    assert keys.time(at.replace(tzinfo=None)) == upstream._get_time_key(at.replace(tzinfo=None))
    # Where ours reads a one-off's minute better than upstream: after a prefix with a colon.
    assert ScheduleKeys("a:b").minute_of(ScheduleKeys("a:b").time(at)) == at.replace(second=0)


def _schedules(**triggers: tuple[str, object]) -> list[ScheduledTask]:
    return [
        ScheduledTask(
            task_name="t", labels={}, args=[1], kwargs={}, schedule_id=name, **{kind: value}
        )
        for name, (kind, value) in triggers.items()
    ]


async def test_schedules_written_by_either_source_are_read_by_the_other(
    config: DurableConfig,
) -> None:
    ours = RuntimeScheduleSource(config)
    theirs = ListRedisScheduleSource(
        config.redis_url, prefix=config.key("schedule"), serializer=JSONSerializer()
    )
    now = datetime.now(UTC)
    try:
        for schedule in _schedules(
            theirs_cron=("cron", "* * * * *"),
            theirs_every=("interval", 5),
            theirs_now=("time", now),
        ):
            await theirs.add_schedule(schedule)
        for schedule in _schedules(
            ours_cron=("cron", "0 * * * *"), ours_every=("interval", 7), ours_now=("time", now)
        ):
            await ours.add_schedule(schedule)
        both = {
            "theirs_cron",
            "theirs_every",
            "theirs_now",
            "ours_cron",
            "ours_every",
            "ours_now",
        }
        assert {s.schedule_id for s in await ours.get_schedules()} == both
        assert {s.schedule_id for s in await theirs.get_schedules()} == both
        await theirs.delete_schedule("ours_cron")
        await ours.delete_schedule("theirs_every")
        assert {s.schedule_id for s in await theirs.get_schedules()} == both - {
            "ours_cron",
            "theirs_every",
        }
    finally:
        await theirs.shutdown()
        await ours.shutdown()


# 3. One decode per message ---------------------------------------------------------------------

_seen_by_loads: ContextVar[str] = ContextVar("seen_by_loads", default="")


class RecordingFormatter(TaskiqFormatter):
    def __init__(self, inner: TaskiqFormatter) -> None:
        self.inner = inner
        self.calls: list[tuple[bytes, str]] = []

    def dumps(self, message: TaskiqMessage) -> BrokerMessage:
        return self.inner.dumps(message)

    def loads(self, message: bytes) -> TaskiqMessage:
        self.calls.append((message, _seen_by_loads.get()))
        return self.inner.loads(message)


async def test_taskiq_decodes_the_brokers_bytes_once_via_the_formatter_in_the_callback() -> None:
    broker = InMemoryBroker()
    ran: list[int] = []

    async def task(x: int) -> None:
        ran.append(x)

    broker.register_task(task, task_name="t")
    recording = RecordingFormatter(broker.formatter)
    broker.with_formatter(recording)
    raw = recording.dumps(
        TaskiqMessage(task_id="1", task_name="t", labels={}, args=[3], kwargs={})
    ).message

    async def callback() -> None:
        _seen_by_loads.set("the callback's task")
        await Receiver(broker, max_async_tasks=1).callback(raw)

    await asyncio.create_task(callback())
    assert ran == [3]
    assert len(recording.calls) == 1, "taskiq's callback must decode exactly once"
    data, context = recording.calls[0]
    assert data is raw, "taskiq's callback must decode the very bytes it was given"
    assert context == "the callback's task", "decoding must run in the callback's context"


# 4. Receiver keywords ------------------------------------------------------------------------


def test_taskiq_worker_passes_the_concurrency_keywords_the_stream_receiver_reads() -> None:
    params = inspect.signature(Receiver.__init__).parameters
    for name in ("max_async_tasks", "max_async_tasks_jitter", "max_prefetch"):
        assert name in params, f"Receiver no longer takes {name}"
        assert f"{name}=args.{name}" in inspect.getsource(worker_run.start_listen), (
            f"taskiq worker no longer passes {name} by keyword"
        )


async def test_the_receiver_takes_at_most_max_async_tasks_plus_max_prefetch_deliveries() -> None:
    receiver = Receiver(InMemoryBroker(), max_async_tasks=3, max_prefetch=2)
    for _ in range(5):
        await asyncio.wait_for(receiver.sem_prefetch.acquire(), 1)
    assert receiver.sem_prefetch.locked(), "more deliveries than max_async_tasks + max_prefetch"


# 5. run_task gets the task function ------------------------------------------------------------

_in_pre_execute: ContextVar[str] = ContextVar("in_pre_execute", default="")


async def test_run_task_is_given_the_task_function_in_the_context_of_pre_execute() -> None:
    broker = InMemoryBroker()
    targets: list[object] = []

    class Mark(TaskiqMiddleware):
        def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
            _in_pre_execute.set(message.task_id)
            return message

    class Recording(Receiver):
        async def run_task(
            self, target: Any, message: TaskiqMessage, ack_controller: Any = None
        ) -> Any:
            targets.append(target)
            return await super().run_task(target, message, ack_controller)

    async def task() -> str:
        return _in_pre_execute.get()

    registered = broker.register_task(task, task_name="t")
    broker.add_middlewares(Mark())
    raw = broker.formatter.dumps(
        TaskiqMessage(task_id="m1", task_name="t", labels={}, args=[], kwargs={})
    ).message
    await asyncio.create_task(Recording(broker, max_async_tasks=1).callback(raw))
    assert targets == [registered.original_func]
    assert (await broker.result_backend.get_result("m1")).return_value == "m1"


def test_time_index_scores_are_minutes() -> None:
    keys = ScheduleKeys("p")
    at = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
    assert keys.minute_of(keys.time(at + timedelta(seconds=59))) == at
    assert keys.minute_of("p:data:x") is None
