"""`taskiq_durable.interrupt.Execution` in one event loop, no servers: what a task body sees."""

import asyncio
import inspect
from typing import Any

import pytest
from taskiq import TaskiqMessage
from taskiq_durable.interrupt import Execution, Executions, interruptible


class Soft(Exception):
    pass


class Stopped(Exception):
    pass


async def _in_task(body: Any, setup: Any) -> tuple[Any, asyncio.Task[Any]]:
    """Run `body` under an Execution of a fresh task; `setup(execution)` arms it first."""

    async def run() -> Any:
        execution = Execution("id", asyncio.current_task())  # type: ignore[arg-type]
        setup(execution)
        try:
            return await execution.run(body)
        finally:
            execution.close()

    task = asyncio.create_task(run())
    try:
        return await task, task
    except BaseException as exc:  # noqa: BLE001 - the outcome is what the tests look at
        return exc, task


async def test_soft_interrupt_is_raised_at_the_await_and_can_be_handled() -> None:
    seen: list[str] = []

    async def body() -> str:
        try:
            await asyncio.sleep(30)
        except Soft:
            seen.append("soft")
            await asyncio.sleep(0.01)  # cleanup may await
            seen.append("cleaned")
        return "done"

    outcome, task = await _in_task(
        body(), lambda ex: ex.call_later(0.05, lambda: ex.interrupt(Soft()))
    )
    assert (outcome, seen, task.cancelling()) == ("done", ["soft", "cleaned"], 0)


async def test_stop_cancels_runs_finally_and_ends_with_the_outcome() -> None:
    seen: list[str] = []

    async def body() -> None:
        try:
            await asyncio.sleep(30)
        except Exception:  # noqa: BLE001 - the point: a stop is not an Exception
            seen.append("swallowed")
        finally:
            seen.append("finally")

    outcome, task = await _in_task(
        body(), lambda ex: ex.call_later(0.05, lambda: ex.stop(Stopped("limit")))
    )
    assert isinstance(outcome, Stopped)
    assert isinstance(outcome.__cause__, asyncio.CancelledError)
    assert (seen, task.cancelling()) == (["finally"], 0)


async def test_soft_then_stop_during_cleanup() -> None:
    seen: list[str] = []

    async def body() -> None:
        try:
            await asyncio.sleep(30)
        except Soft:
            seen.append("soft")
            await asyncio.sleep(30)  # a cleanup that overruns

    def arm(ex: Execution) -> None:
        ex.call_later(0.02, lambda: ex.interrupt(Soft()))
        ex.call_later(0.06, lambda: ex.stop(Stopped()))

    outcome, _ = await _in_task(body(), arm)
    assert (type(outcome), seen) == (Stopped, ["soft"])


@pytest.mark.parametrize("before_start", ["stop", "interrupt"])
async def test_anything_before_the_start_means_the_body_never_runs(before_start: str) -> None:
    ran: list[bool] = []

    async def body() -> None:
        ran.append(True)

    def arm(ex: Execution) -> None:
        if before_start == "stop":
            ex.stop(Stopped())
        else:
            ex.interrupt(Soft())

    outcome, _ = await _in_task(body(), arm)
    assert (type(outcome), ran) == ((Stopped if before_start == "stop" else Soft), [])


async def test_first_stop_wins_and_a_later_interrupt_is_ignored() -> None:
    async def body() -> None:
        await asyncio.sleep(30)

    def arm(ex: Execution) -> None:
        def both() -> None:
            ex.stop(Stopped("first"))
            ex.stop(Stopped("second"))
            ex.interrupt(Soft())

        ex.call_later(0.02, both)

    outcome, _ = await _in_task(body(), arm)
    assert repr(outcome) == "Stopped('first')"


async def test_someone_elses_cancellation_passes_through() -> None:
    async def body() -> None:
        await asyncio.sleep(30)

    async def run() -> None:
        execution = Execution("id", asyncio.current_task())  # type: ignore[arg-type]
        await execution.run(body())

    task = asyncio.create_task(run())
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_after_the_body_finished_nothing_is_delivered() -> None:
    async def body() -> str:
        return "done"

    async def run() -> str:
        execution = Execution("id", asyncio.current_task())  # type: ignore[arg-type]
        result = await execution.run(body())
        execution.stop(Stopped())
        execution.interrupt(Soft())
        await asyncio.sleep(0.01)  # a delivered cancellation would land here
        return result

    assert await asyncio.create_task(run()) == "done"


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_an_interruptible_task_stopped_before_it_starts_never_runs(kind: str) -> None:
    ran: list[str] = []

    async def async_body() -> None:
        ran.append("async")

    def sync_body() -> None:
        ran.append("sync")

    body = async_body if kind == "async" else sync_body
    executions = Executions()
    message = TaskiqMessage(task_id="id", task_name="t", labels={}, args=[], kwargs={})

    async def run() -> None:
        execution = executions.track(message)
        assert executions.track(message) is execution  # one per message
        assert executions.running("id") == [execution]
        execution.stop(Stopped())
        result = interruptible(body)()
        if inspect.isawaitable(result):
            await result

    with pytest.raises(Stopped):
        await asyncio.create_task(run())
    await asyncio.sleep(0)  # the task's done callbacks (which forget the execution) run
    assert (ran, executions.task_ids()) == ([], [])
    # One wrapper per function (taskiq caches by task name), and the function is left as it was.
    assert interruptible(body) is interruptible(body)
    assert interruptible(body).__wrapped__ is body  # type: ignore[attr-defined]


async def test_an_interruptible_function_called_outside_any_execution_just_runs() -> None:
    async def body(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    assert await interruptible(body)(1) == 2
