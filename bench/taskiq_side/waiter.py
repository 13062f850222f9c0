"""How the driver awaits results: taskiq's per-task polling, or a prototype of a batched waiter.

`AsyncTaskiqTask.wait_result()` polls once per waiting task (EXISTS, then GET), each call
building a fresh redis-py client: with hundreds of tasks in flight the client spends its time
polling. This waiter reads every pending result with one MGET per tick, on one client, and
resolves a future per task. It lives in the bench only to measure what the change the report
proposes for the stack would buy (`BENCH_TASKIQ_WAIT=batched`).
"""

import asyncio
import contextlib
from typing import Any

from redis.asyncio import Redis
from taskiq import AsyncTaskiqTask, TaskiqResult
from taskiq_redis import RedisAsyncResultBackend

__all__ = ["BatchedResults", "PerTaskPolling"]


class PerTaskPolling:
    """taskiq's own `wait_result`: every waiting task polls the backend every `every` seconds."""

    def __init__(self, every: float) -> None:
        self._every = every

    async def wait(self, task: AsyncTaskiqTask[Any]) -> TaskiqResult[Any]:
        return await task.wait_result(check_interval=self._every)

    async def close(self) -> None:
        return None


class BatchedResults:
    def __init__(self, backend: RedisAsyncResultBackend[Any], every: float) -> None:
        self._backend = backend
        self._every = every
        self._redis = Redis(connection_pool=backend.redis_pool)
        self._pending: dict[str, asyncio.Future[TaskiqResult[Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    def _key(self, task_id: str) -> str:
        prefix = self._backend.prefix_str
        return f"{prefix}:{task_id}" if prefix else task_id

    async def wait(self, task: AsyncTaskiqTask[Any]) -> TaskiqResult[Any]:
        future: asyncio.Future[TaskiqResult[Any]] = asyncio.get_running_loop().create_future()
        self._pending[task.task_id] = future
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll())
        return await future

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            if not self._pending:
                continue
            ids = list(self._pending)
            values = await self._redis.mget([self._key(task_id) for task_id in ids])
            for task_id, raw in zip(ids, values, strict=True):
                if raw is not None:
                    data = raw if isinstance(raw, bytes) else raw.encode()
                    result = TaskiqResult[Any].model_validate(self._backend.serializer.loadb(data))
                    self._pending.pop(task_id).set_result(result)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await self._redis.aclose()
