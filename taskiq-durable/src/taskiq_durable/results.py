"""Awaiting task results: one Redis round trip per tick for every result a process awaits.

taskiq's `AsyncTaskiqTask.wait_result()` polls per task (EXISTS, then GET, every 0.2 s): a
process awaiting 200 results sends 2,000 commands a second and still answers 0.1 s late on
average. `ResultWaiter` keeps one future per awaited task and, while any is pending, reads all of
them with one pipelined MGET per tick (`ResultBackend.read_many`), resolving futures as results
appear. The tick starts at 5 ms, doubles after every sweep that found nothing (up to 100 ms), is
back at 5 ms when a result or a new wait arrives, and stretches with the number of pending
results (5 µs per key), so a sweep's cost stays a bounded share of the tick.

Why sweeping rather than a PUBLISH per stored result with a subscriber here: it reads the
stored truth, so nothing is missed across a reconnect (pub/sub is at-most-once and would need
this sweep as its fallback anyway); it costs the worker nothing (the worker's round trips per
task are what bound throughput, docs/benchmarks.md); and no process receives notifications for
results it doesn't await.

One waiter per process, built in a startup hook (`app/lifespan.py` puts the web's on
`app.state.results`; routes get it as `app.deps.ResultsDep`), never at import.
"""

import asyncio
import logging
from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqTask, TaskiqResult
from taskiq.exceptions import ResultGetError, TaskiqResultTimeoutError

from taskiq_durable.result_backend import ResultBackend
from taskiq_durable.streams.reconnect import OUTAGE_ERRORS, Outage

__all__ = ["ResultWaiter", "UnreadableResultError", "next_tick"]

logger = logging.getLogger(__name__)

MIN_TICK_SECONDS = 0.005
MAX_TICK_SECONDS = 0.1
# What reading and parsing one pending key costs the client, roughly (redis-py's Python parser).
TICK_PER_KEY_SECONDS = 5e-6


class UnreadableResultError(ResultGetError):
    __template__ = "the stored result of task {task_id} is not a taskiq result: {reason}"
    task_id: str
    reason: str


def next_tick(
    empty_sweeps: int,
    pending: int,
    *,
    min_tick: float = MIN_TICK_SECONDS,
    max_tick: float = MAX_TICK_SECONDS,
    per_key: float = TICK_PER_KEY_SECONDS,
) -> float:
    """Seconds until the next sweep, after `empty_sweeps` sweeps in a row found nothing."""
    floor = max(min_tick, pending * per_key)
    return min(max(max_tick, floor), floor * float(2 ** min(empty_sweeps, 16)))


class ResultWaiter:
    def __init__(self, backend: ResultBackend) -> None:
        self._backend = backend
        self._pending: dict[str, list[asyncio.Future[TaskiqResult[Any]]]] = {}
        self._empty_sweeps = 0
        self._sweeper: asyncio.Task[None] | None = None

    @classmethod
    def for_broker(cls, broker: AsyncBroker) -> "ResultWaiter":
        backend = broker.result_backend
        if not isinstance(backend, ResultBackend):
            raise TypeError(
                f"ResultWaiter reads taskiq_durable.result_backend.ResultBackend, not {backend!r}"
            )
        return cls(backend)

    async def wait(self, task: AsyncTaskiqTask[Any] | str, *, within: float) -> TaskiqResult[Any]:
        """The task's result once stored; `TaskiqResultTimeoutError` after `within` seconds."""
        task_id = task if isinstance(task, str) else task.task_id
        future: asyncio.Future[TaskiqResult[Any]] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(task_id, []).append(future)
        self._empty_sweeps = 0
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_while_pending())
        try:
            return await asyncio.wait_for(future, within)
        except TimeoutError as exc:
            raise TaskiqResultTimeoutError(timeout=within) from exc
        finally:
            self._forget(task_id, future)

    def _forget(self, task_id: str, future: asyncio.Future[TaskiqResult[Any]]) -> None:
        futures = self._pending.get(task_id)
        if futures is not None and future in futures:
            futures.remove(future)
            if not futures:
                del self._pending[task_id]

    async def _sweep_while_pending(self) -> None:
        outage = Outage(logger, "result waiter")
        try:
            while self._pending:
                await asyncio.sleep(next_tick(self._empty_sweeps, len(self._pending)))
                try:
                    found = await self._sweep()
                except OUTAGE_ERRORS as exc:
                    # Waits time out on their own; the sweep resumes when Redis is back.
                    await asyncio.sleep(outage.failed(exc))
                    continue
                outage.succeeded()
                self._empty_sweeps = 0 if found else self._empty_sweeps + 1
        except Exception as exc:
            # Not an outage (a bug, a backend used after shutdown): no wait can succeed now.
            logger.exception("result waiter stopped")
            self._fail_all(exc)

    async def _sweep(self) -> bool:
        """Resolve every pending task whose result is stored; whether any was."""
        task_ids = list(self._pending)
        found = False
        for task_id, raw in zip(task_ids, await self._backend.read_many(task_ids), strict=True):
            if raw is None:
                continue
            futures = self._pending.pop(task_id, None)
            if not futures:
                continue  # every wait for it timed out during the read
            found = True
            try:
                result = self._backend.load(raw)
            except ValueError as exc:  # not JSON, or not a TaskiqResult (pydantic's error is one)
                self._settle(futures, UnreadableResultError(task_id=task_id, reason=str(exc)))
                continue
            self._settle(futures, result)
        return found

    @staticmethod
    def _settle(
        futures: list[asyncio.Future[TaskiqResult[Any]]], outcome: TaskiqResult[Any] | Exception
    ) -> None:
        for future in futures:
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _fail_all(self, exc: Exception) -> None:
        pending, self._pending = self._pending, {}
        for futures in pending.values():
            self._settle(futures, exc)

    async def close(self) -> None:
        """Stop sweeping; waits still pending end with `CancelledError`."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        pending, self._pending = self._pending, {}
        for futures in pending.values():
            for future in futures:
                future.cancel()
