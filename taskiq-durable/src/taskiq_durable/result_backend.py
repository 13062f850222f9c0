"""The result backend: taskiq-redis's, on one Redis client per process, and able to read many.

`RedisAsyncResultBackend` builds a new `redis.asyncio.Redis` for every call (`Redis.__init__`
copies its table of response callbacks each time: about a tenth of a worker child's CPU per
task, see docs/benchmarks.md). This subclass builds one client on the backend's pool in
`startup()` (run by `broker.startup()` in every process) and reuses it. The pool is the
library's (`taskiq_durable.connections.create_pool`: single Redis or Sentinel); the key layout
is taskiq-redis's (taskiq_durable.compat).

`read_many` reads a batch of stored results in one round trip and `load` parses one as
`get_result` does, for `taskiq_durable.results.ResultWaiter`; `set_result_in` adds a write to a
caller's transaction (`taskiq_durable.revoke`).
"""

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from taskiq import TaskiqResult
from taskiq.depends.progress_tracker import TaskProgress
from taskiq.serializers import JSONSerializer
from taskiq_redis import RedisAsyncResultBackend
from taskiq_redis.exceptions import ResultIsMissingError

from taskiq_durable.compat import PROGRESS_KEY_SUFFIX, result_key
from taskiq_durable.config import DurableConfig
from taskiq_durable.connections import create_pool, started

__all__ = ["ResultBackend"]

# One MGET holds Redis for its whole length; slices of this size keep other clients' commands
# from queueing behind a large batch, and still travel in one round trip (a pipeline).
MGET_SLICE = 1000


class ResultBackend(RedisAsyncResultBackend[Any]):
    """JSON results that expire after `result_ex_time` seconds, kept after reading."""

    def __init__(
        self, redis_url: str, *, result_ex_time: int, prefix_str: str, **connection_kwargs: Any
    ) -> None:
        super().__init__(
            redis_url,
            result_ex_time=result_ex_time,
            serializer=JSONSerializer(),  # taskiq-redis defaults to pickle
            prefix_str=prefix_str,
            **connection_kwargs,
        )
        self._prefix = prefix_str
        self._client: Redis | None = None

    @classmethod
    def for_config(cls, config: DurableConfig) -> "ResultBackend":
        backend = cls(
            config.redis_url,
            result_ex_time=config.result_ttl_seconds,
            prefix_str=config.key("result"),
        )
        # taskiq-redis built a pool from the URL alone; this one follows the configured mode.
        backend.redis_pool = create_pool(config)
        return backend

    @property
    def redis(self) -> Redis:
        """This process's client of the result store (after `startup()`)."""
        return started(self._client, "the result backend")

    async def startup(self) -> None:
        await super().startup()
        self._client = Redis(connection_pool=self.redis_pool)

    async def shutdown(self) -> None:
        self._client = None
        await super().shutdown()  # disconnects the pool the client used

    def key(self, task_id: str) -> str:
        return result_key(self._prefix, task_id)

    def dump(self, result: TaskiqResult[Any]) -> bytes:
        """A result as it is stored: JSON."""
        return self.serializer.dumpb(result.model_dump(mode="json"))

    def load(self, raw: bytes | str, with_logs: bool = False) -> TaskiqResult[Any]:
        """A stored result, parsed as taskiq-redis's `get_result` does."""
        data = raw if isinstance(raw, bytes) else raw.encode()
        result = TaskiqResult[Any].model_validate(self.serializer.loadb(data))
        if not with_logs:
            result.log = None
        return result

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        await self.redis.set(self.key(task_id), self.dump(result), ex=self.result_ex_time)

    def set_result_in(
        self, pipe: Pipeline, task_id: str, result: TaskiqResult[Any], *, unless_stored: bool
    ) -> None:
        """Queue the write of `result` on `pipe`; with `unless_stored`, a stored one is kept."""
        pipe.set(self.key(task_id), self.dump(result), ex=self.result_ex_time, nx=unless_stored)

    async def forget(self, task_id: str) -> None:
        """Delete the stored result and progress: the task reads PENDING again (a replay)."""
        await self.redis.delete(self.key(task_id), self.key(task_id) + PROGRESS_KEY_SUFFIX)

    async def is_result_ready(self, task_id: str) -> bool:
        return bool(await self.redis.exists(self.key(task_id)))

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[Any]:
        raw = await self.redis.get(self.key(task_id))
        if raw is None:
            raise ResultIsMissingError
        return self.load(raw, with_logs)

    async def read_many(self, task_ids: Sequence[str]) -> list[bytes | str | None]:
        """The stored result of each id, unparsed, None where there is none: one round trip."""
        if not task_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(task_ids), MGET_SLICE):
                pipe.mget([self.key(task_id) for task_id in task_ids[start : start + MGET_SLICE]])
            slices: list[list[bytes | str | None]] = await pipe.execute()
        return [raw for part in slices for raw in part]

    async def set_progress(self, task_id: str, progress: TaskProgress[Any]) -> None:
        value = self.serializer.dumpb(progress.model_dump(mode="json"))
        await self.redis.set(self.key(task_id) + PROGRESS_KEY_SUFFIX, value, ex=self.result_ex_time)

    async def get_progress(self, task_id: str) -> TaskProgress[Any] | None:
        raw = await self.redis.get(self.key(task_id) + PROGRESS_KEY_SUFFIX)
        if raw is None:
            return None
        data = raw if isinstance(raw, bytes) else raw.encode()
        return TaskProgress[Any].model_validate(self.serializer.loadb(data))
