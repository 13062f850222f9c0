"""The worker side of revoke (see `tasks.revoke`): skip revoked messages, cancel revoked runs.

Each worker child checks the revoked key before it starts a message and listens on the revoke
channel for ids it is running. Pub/sub delivers at most once, so after every (re)subscription the
child also checks the keys of everything it runs: a revoke published while it was not listening
is caught then.
"""

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError
from taskiq import TaskiqMessage, TaskiqMiddleware

from core.resources import create_redis
from core.settings import Settings
from tasks.interrupt import Execution, Executions
from tasks.revoke import TaskRevoked, revoke_channel, revoked_key

logger = logging.getLogger(__name__)

# How long the listener waits after losing Redis before it subscribes again.
RESUBSCRIBE_DELAY = 1.0


class RevokeMiddleware(TaskiqMiddleware):
    def __init__(self, settings: Settings, executions: Executions) -> None:
        super().__init__()
        self._settings = settings
        self._executions = executions
        self._listener: asyncio.Task[None] | None = None
        self._client: Redis | None = None

    def _redis(self) -> Redis:
        if self._client is None:
            raise RuntimeError("revoke checks run in worker processes, after startup")
        return self._client

    async def startup(self) -> None:
        if self.broker.is_worker_process:
            # Its own client, not Resources': WORKER_SHUTDOWN closes those before middlewares
            # stop, and the listener would report a lost Redis at every shutdown.
            self._client = create_redis(self._settings)
            self._listener = asyncio.create_task(self._listen(self._client))

    async def shutdown(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._client is not None:
            await self._client.aclose()

    async def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        # Tracked before the check: a revoke landing after it is then found by the listener.
        execution = self._executions.track(message, self.broker)
        if await self._redis().exists(revoked_key(self._settings, message.task_id)):
            logger.info("task %s %s was revoked: not started", message.task_name, message.task_id)
            execution.stop(TaskRevoked(message.task_id))
        return message

    def _stop(self, task_id: str) -> None:
        executions: list[Execution] = self._executions.running(task_id)
        if executions:
            logger.info("task %s revoked: cancelling its run", task_id)
        for execution in executions:
            execution.stop(TaskRevoked(task_id))

    async def _listen(self, redis: Redis) -> None:
        channel = revoke_channel(self._settings)
        while True:
            pubsub = redis.pubsub()
            try:
                await pubsub.subscribe(channel)
                await self._sweep(redis)
                while True:
                    # A bounded wait: redis-py's socket timeout would fail an unbounded one.
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None:
                        self._stop(message["data"].decode())
            except (RedisError, OSError) as exc:
                logger.warning("revoke listener lost Redis (%r); subscribing again", exc)
                await asyncio.sleep(RESUBSCRIBE_DELAY)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _sweep(self, redis: Redis) -> None:
        task_ids = self._executions.task_ids()
        if task_ids:
            flags = await redis.mget([revoked_key(self._settings, i) for i in task_ids])
            for task_id, flag in zip(task_ids, flags, strict=True):
                if flag is not None:
                    self._stop(task_id)
