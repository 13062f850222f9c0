"""Stopping a running task from outside it: the mechanism behind time limits and revoke.

taskiq runs each message in its own asyncio task but offers no way to reach into it. Here the
receiver (`taskiq_durable.receiver.DurableReceiver.run_task`, where taskiq hands it the function
to run) runs every task function through `interruptible`, so that its coroutine is driven
through the `Execution` of the message, which can, from a timer or a pub/sub listener:

- `interrupt(exc)`: raise `exc` inside the task at its current `await` (the soft time limit);
  the task may catch it and clean up.
- `stop(outcome)`: cancel the task as asyncio does (`CancelledError` at its current `await`,
  `finally` blocks run), then end it with `outcome` instead of `CancelledError`, so the result
  backend and the other middlewares see a named failure (`TimeLimitExceeded`, `TaskRevoked`).

Either one, arriving before the task function started, means it never starts. Only async task
functions can be interrupted while they run; a sync function in taskiq's thread pool cannot
(CPU-bound work goes through `taskiq_durable.cpu_pool`, whose processes can be killed).
"""

import asyncio
import enum
import functools
import inspect
import logging
import weakref
from collections import defaultdict
from collections.abc import Callable, Coroutine, Generator
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from taskiq import TaskiqMessage

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _Phase(enum.Enum):
    WAITING = "waiting"  # middlewares and dependencies run; the task function did not start
    RUNNING = "running"
    DONE = "done"


class Execution:
    """One run of one message in this worker child, and the means to stop it."""

    def __init__(self, task_id: str, task: "asyncio.Task[Any]") -> None:
        self.task_id = task_id
        self._task = task
        self._phase = _Phase.WAITING
        # What to raise at the next await, and what the task ends with if that stops it.
        self._pending: tuple[BaseException, BaseException | None] | None = None
        self._cancel_requested = False
        self._outcome: BaseException | None = None
        self._timers: list[asyncio.TimerHandle] = []

    def interrupt(self, exc: Exception) -> None:
        """Raise `exc` inside the task at its current await; it may catch it."""
        if self._outcome is None and (self._pending is None or self._pending[1] is None):
            self._deliver((exc, None))

    def stop(self, outcome: BaseException) -> None:
        """Cancel the task at its current await; it ends with `outcome`. First stop wins."""
        if self._outcome is None and (self._pending is None or self._pending[1] is None):
            self._deliver((asyncio.CancelledError(), outcome))

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """A timer that dies with this execution."""
        self._timers.append(asyncio.get_running_loop().call_later(delay, callback))

    def close(self) -> None:
        self._phase = _Phase.DONE
        self._pending = None
        for timer in self._timers:
            timer.cancel()

    def _deliver(self, pending: tuple[BaseException, BaseException | None]) -> None:
        if self._phase is _Phase.DONE:
            return
        self._pending = pending
        # While RUNNING, the task is suspended inside `_drive` (timers and listeners only run
        # while it is suspended), so the cancellation lands at `_drive`'s `yield`.
        if self._phase is _Phase.RUNNING and not self._cancel_requested:
            self._cancel_requested = True
            self._task.cancel(f"interrupted by {__name__}")

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return await _Driven(self, coro)

    def _drive(self, coro: Coroutine[Any, Any, T]) -> Generator[Any, Any, T]:
        """`yield from coro`, except that our own cancellations become the pending exception."""
        if self._pending is not None:
            coro.close()
            thrown, outcome = self._pending
            raise outcome if outcome is not None else thrown
        self._phase = _Phase.RUNNING
        sent: Any = None
        thrown_in: BaseException | None = None
        try:
            while True:
                try:
                    yielded = coro.send(sent) if thrown_in is None else coro.throw(thrown_in)
                except StopIteration as finished:
                    return finished.value  # type: ignore[no-any-return]
                except asyncio.CancelledError as cancelled:
                    if self._outcome is not None:
                        raise self._outcome from cancelled
                    raise
                sent, thrown_in = None, None
                try:
                    sent = yield yielded
                except GeneratorExit:
                    coro.close()
                    raise
                except BaseException as exc:  # noqa: BLE001 - everything is forwarded
                    thrown_in = self._translate(exc)
        finally:
            self._phase = _Phase.DONE

    def _translate(self, exc: BaseException) -> BaseException:
        if not (self._cancel_requested and isinstance(exc, asyncio.CancelledError)):
            return exc
        self._cancel_requested = False
        if self._task.uncancel() > 0 or self._pending is None:
            return exc  # someone else cancelled too (worker shutdown): let that through
        thrown, self._outcome = self._pending
        self._pending = None
        return thrown


class _Driven(Generic[T]):
    def __init__(self, execution: Execution, coro: Coroutine[Any, Any, T]) -> None:
        self._execution, self._coro = execution, coro

    def __await__(self) -> Generator[Any, Any, T]:
        return self._execution._drive(self._coro)


_current: ContextVar[Execution | None] = ContextVar("taskiq_execution", default=None)


def interruptible(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func`, driven by the execution of the message being run, if any. One wrapper per
    function (cached): taskiq caches a task's signature and dependencies by task name."""
    wrapped = _wrappers.get(func)
    if wrapped is None:
        wrapped = _wrappers[func] = _wrap(func)
    return wrapped


_wrappers: "weakref.WeakKeyDictionary[Callable[..., Any], Callable[..., Any]]" = (
    weakref.WeakKeyDictionary()
)


def _wrap(func: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            execution = _current.get()
            coro = func(*args, **kwargs)
            # A task function called directly from inside another task is not a new execution.
            if execution is None or execution._phase is not _Phase.WAITING:
                return await coro
            return await execution.run(coro)

        wrapped: Callable[..., Any] = run_async
    else:

        @functools.wraps(func)
        def run_sync(*args: Any, **kwargs: Any) -> Any:
            # taskiq copies the context into its thread pool, so the execution is visible.
            execution = _current.get()
            if execution is not None and execution._pending is not None:
                thrown, outcome = execution._pending
                raise outcome if outcome is not None else thrown
            return func(*args, **kwargs)

        wrapped = run_sync
    return wrapped


class Executions:
    """The executions running in this worker child, by task id."""

    def __init__(self) -> None:
        # A set per id: an at-least-once queue may deliver one message twice to one child.
        self._running: defaultdict[str, set[Execution]] = defaultdict(set)

    def track(self, message: TaskiqMessage) -> Execution:
        """The execution of `message`, created on the first call from its pre_execute."""
        execution = _current.get()
        if execution is not None and execution.task_id == message.task_id:
            return execution
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("track() must be called from a middleware's pre_execute")
        execution = Execution(message.task_id, task)
        _current.set(execution)
        self._running[message.task_id].add(execution)
        task.add_done_callback(lambda _: self._forget(execution))
        return execution

    def running(self, task_id: str) -> list[Execution]:
        return list(self._running.get(task_id, ()))

    def task_ids(self) -> list[str]:
        return list(self._running)

    def _forget(self, execution: Execution) -> None:
        execution.close()
        same_id = self._running.get(execution.task_id)
        if same_id is not None:
            same_id.discard(execution)
            if not same_id:
                del self._running[execution.task_id]
