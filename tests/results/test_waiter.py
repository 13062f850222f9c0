"""`ResultWaiter` on real Redis: results from a real worker arrive, a missing one times out, an
unreadable one fails clearly, and every pending wait is served by the same sweep."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker, TaskiqResult
from taskiq.exceptions import TaskiqResultTimeoutError
from taskiq_durable.result_backend import ResultBackend
from taskiq_durable.results import ResultWaiter, UnreadableResultError, next_tick

from tests.conftest import StartProcess
from tests.results.tasks_for_tests import echo
from tests.support.processes import procfile_commands

WITHIN = 90.0  # a worker child's startup on a loaded 2-core machine


@pytest.fixture
async def waiter(client_broker: AsyncBroker) -> AsyncIterator[ResultWaiter]:
    waiter = ResultWaiter.for_broker(client_broker)
    try:
        yield waiter
    finally:
        await waiter.close()


def backend_of(broker: AsyncBroker) -> ResultBackend:
    backend = broker.result_backend
    assert isinstance(backend, ResultBackend)
    return backend


async def test_results_from_a_worker_arrive(
    start: StartProcess, client_broker: AsyncBroker, waiter: ResultWaiter
) -> None:
    command = procfile_commands()["worker"].replace(
        "tasks.registry", "tasks.registry tests.results.tasks_for_tests"
    )
    start(
        "worker",
        f"{command} --log-level WARNING",
        WORKER_PROCESSES="1",
        DB_POOL_SIZE="2",
        DB_MAX_OVERFLOW="2",
    )
    kicked = [await echo.kicker().with_broker(client_broker).kiq(n) for n in range(50)]
    # By task and by id, and two waits on one task: each gets the result.
    results = await asyncio.gather(
        *(waiter.wait(task, within=WITHIN) for task in kicked),
        waiter.wait(kicked[0].task_id, within=WITHIN),
    )
    assert [result.return_value for result in results] == [*range(50), 0]
    assert not any(result.is_err for result in results)


async def test_a_result_never_stored_times_out(waiter: ResultWaiter) -> None:
    with pytest.raises(TaskiqResultTimeoutError):
        await waiter.wait("never-kicked", within=0.3)


async def test_an_unreadable_result_fails_its_wait_only(
    client_broker: AsyncBroker, waiter: ResultWaiter, redis_client: Redis
) -> None:
    backend = backend_of(client_broker)
    await redis_client.set(backend.key("garbled"), b"not json")
    await backend.set_result("fine", TaskiqResult(is_err=False, return_value=1, execution_time=0))
    outcomes = await asyncio.gather(
        waiter.wait("garbled", within=10), waiter.wait("fine", within=10), return_exceptions=True
    )
    garbled, fine = outcomes[0], outcomes[1]
    assert isinstance(garbled, UnreadableResultError)
    assert "garbled" in str(garbled)
    assert isinstance(fine, TaskiqResult)
    assert fine.return_value == 1


async def test_all_pending_waits_share_each_sweep(
    client_broker: AsyncBroker,
    waiter: ResultWaiter,
    redis_client: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = backend_of(client_broker)
    sweeps: list[int] = []
    swept = asyncio.Event()
    read_many = backend.read_many

    async def counted(task_ids: Sequence[str]) -> list[bytes | str | None]:
        sweeps.append(len(task_ids))
        swept.set()
        return await read_many(task_ids)

    monkeypatch.setattr(backend, "read_many", counted)
    ids = [f"task-{n}" for n in range(200)]
    waits = [asyncio.create_task(waiter.wait(task_id, within=30)) for task_id in ids]
    await asyncio.wait_for(swept.wait(), 30)
    # All 200 results become visible at once (MULTI/EXEC), so one sweep resolves them all.
    async with redis_client.pipeline(transaction=True) as pipe:
        for n, task_id in enumerate(ids):
            value = TaskiqResult[int](is_err=False, return_value=n, execution_time=0)
            pipe.set(backend.key(task_id), backend.serializer.dumpb(value.model_dump(mode="json")))
        await pipe.execute()
    results: list[TaskiqResult[Any]] = await asyncio.gather(*waits)
    assert [result.return_value for result in results] == list(range(200))
    assert set(sweeps) == {200}  # one read per tick covered every pending wait


async def test_the_backend_builds_one_redis_client_per_process(
    client_broker: AsyncBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = backend_of(client_broker)
    built: list[Redis] = []

    class Counted(Redis):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr("taskiq_durable.result_backend.Redis", Counted)
    await backend.shutdown()
    await backend.startup()
    for n in range(20):
        await backend.set_result(
            str(n), TaskiqResult(is_err=False, return_value=n, execution_time=0)
        )
        assert (await backend.get_result(str(n))).return_value == n
    assert len(built) == 1


@pytest.mark.parametrize(
    ("empty_sweeps", "pending", "expected"),
    [
        (0, 1, 0.005),  # results expected soon: the shortest tick
        (1, 1, 0.010),  # nothing found: back off
        (3, 1, 0.040),
        (5, 1, 0.100),  # capped
        (50, 1, 0.100),
        (0, 1_000, 0.005),  # 1,000 keys cost ~5 ms to read and parse
        (0, 4_000, 0.020),  # more keys: a longer tick, so sweeping stays a bounded share
        (2, 4_000, 0.080),
        (0, 40_000, 0.200),  # beyond the cap: the per-key floor wins
        (3, 40_000, 0.200),
    ],
)
def test_next_tick(empty_sweeps: int, pending: int, expected: float) -> None:
    assert next_tick(empty_sweeps, pending) == pytest.approx(expected)
