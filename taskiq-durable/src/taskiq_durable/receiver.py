"""The worker's receiver: taskiq's, plus the checks that skip a message instead of running it.

`taskiq worker ... --receiver taskiq_durable:DurableReceiver` (the Procfile). A middleware can't
skip a task (`pre_execute` can only rewrite the message, and an exception there leaves the message
unacknowledged), so the check lives where taskiq lets us replace the run itself: `run_task`.
The skipped run returns an error result, so everything after it is taskiq's usual path: post_execute
and post_save middlewares (link_error, chord bookkeeping) see it, the result backend stores it
under the task id, and the message is acknowledged.

Each message is decoded once. The admission checks (taskiq_durable.admission) decode it before
taskiq's callback runs; the callback then asks the broker's formatter to decode the same bytes,
and `HandOver`, the formatter this receiver installs around the broker's own, answers with the
message already decoded (taskiq_durable.compat, 3).

`run_task` is also where taskiq hands over the task function: it is run through
`taskiq_durable.interrupt.interruptible`, so that time limits and revoke can stop it.
"""

import contextlib
import inspect
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextvars import ContextVar
from typing import Any

from taskiq import AckableMessage, AsyncBroker, BrokerMessage, TaskiqMessage, TaskiqResult
from taskiq.abc.formatter import TaskiqFormatter
from taskiq.acks import AckController
from taskiq.utils import maybe_awaitable

from taskiq_durable.admission import Admission
from taskiq_durable.expiry import expiry_error
from taskiq_durable.interrupt import interruptible
from taskiq_durable.streams.receiver import StreamReceiver, delivery_of

__all__ = ["DurableReceiver", "HandOver"]

logger = logging.getLogger(__name__)

# The bytes being handled in this asyncio task (one per message), and their decoded message.
_decoded: ContextVar[tuple[bytes, TaskiqMessage] | None] = ContextVar(
    "taskiq_durable_decoded", default=None
)


class HandOver(TaskiqFormatter):
    """The broker's formatter, except that the bytes a receiver decoded already are not decoded
    again: `loads` of exactly those bytes, in the task handling them, returns their message."""

    def __init__(self, formatter: TaskiqFormatter) -> None:
        self.formatter = formatter

    def dumps(self, message: TaskiqMessage) -> BrokerMessage:
        return self.formatter.dumps(message)

    def loads(self, message: bytes) -> TaskiqMessage:
        pending = _decoded.get()
        if pending is not None and pending[0] is message:
            _decoded.set(None)  # handed over once: a later decode is a decode
            return pending[1]
        return self.formatter.loads(message)

    @staticmethod
    @contextlib.contextmanager
    def passing(raw: bytes, message: TaskiqMessage) -> Iterator[None]:
        """While inside, `loads(raw)` in this task returns `message`, once."""
        token = _decoded.set((raw, message))
        try:
            yield
        finally:
            _decoded.reset(token)


class DurableReceiver(StreamReceiver):
    def __init__(self, broker: AsyncBroker, *args: Any, **kwargs: Any) -> None:
        super().__init__(broker, *args, **kwargs)
        self._admission = Admission(broker)
        if not isinstance(broker.formatter, HandOver):
            broker.with_formatter(HandOver(broker.formatter))
        # A process pool pickles the function it runs: sync tasks then run unwrapped (a CPU
        # pool process can't see this child's executions anyway).
        self._wrap_sync = not isinstance(self.executor, ProcessPoolExecutor)

    async def handle(self, message: bytes | AckableMessage, raise_err: bool = False) -> None:
        # Before taskiq's callback, which acks and drops an undecodable message or an unknown
        # task: poison messages, dead letters, eta and rate limits (taskiq_durable.admission) decide
        # first. `handle`, not `callback`: StreamReceiver.callback wraps this
        # (taskiq_durable/streams/receiver.py).
        raw = message.data if isinstance(message, AckableMessage) else message
        delivery = delivery_of(message)
        decoded = await self._admission.admit(raw, delivery.times_delivered if delivery else 1)
        if decoded is not None:
            with HandOver.passing(raw, decoded):
                await super().handle(message, raise_err)
        elif isinstance(message, AckableMessage):
            await maybe_awaitable(message.ack())

    async def run_task(
        self,
        target: Callable[..., Any],
        message: TaskiqMessage,
        ack_controller: AckController | None = None,
    ) -> TaskiqResult[Any]:
        expired = expiry_error(message.labels, time.time())
        if expired is None:
            if self._wrap_sync or inspect.iscoroutinefunction(target):
                target = interruptible(target)
            return await super().run_task(target, message, ack_controller)
        logger.warning("Skipped task %s %s: %s", message.task_name, message.task_id, expired)
        return TaskiqResult(
            is_err=True,
            return_value=None,
            execution_time=0.0,
            error=expired,
            labels=message.labels,
        )
