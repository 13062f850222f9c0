"""The worker's receiver: taskiq's, plus the checks that skip a message instead of running it.

`taskiq worker ... --receiver taskiq_durable:DurableReceiver` (the Procfile). A middleware can't
skip a task (`pre_execute` can only rewrite the message, and an exception there leaves the message
unacknowledged), so the check lives where taskiq lets us replace the run itself: `run_task`.
The skipped run returns an error result, so everything after it is taskiq's usual path: post_execute
and post_save middlewares (link_error, chord bookkeeping) see it, the result backend stores it
under the task id, and the message is acknowledged.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from taskiq import AckableMessage, AsyncBroker, TaskiqMessage, TaskiqResult
from taskiq.acks import AckController
from taskiq.utils import maybe_awaitable

from taskiq_durable.admission import Admission
from taskiq_durable.expiry import expiry_error
from taskiq_durable.streams.receiver import StreamReceiver, delivery_of

logger = logging.getLogger(__name__)


class DurableReceiver(StreamReceiver):
    def __init__(self, broker: AsyncBroker, *args: Any, **kwargs: Any) -> None:
        super().__init__(broker, *args, **kwargs)
        self._admission = Admission(broker)

    async def handle(self, message: bytes | AckableMessage, raise_err: bool = False) -> None:
        # Before taskiq's callback, which acks and drops an undecodable message or an unknown
        # task: poison messages, dead letters, eta and rate limits (taskiq_durable.admission) decide
        # first. `handle`, not `callback`: StreamReceiver.callback wraps this
        # (taskiq_durable/streams/receiver.py).
        raw = message.data if isinstance(message, AckableMessage) else message
        delivery = delivery_of(message)
        if await self._admission.admit(raw, delivery.times_delivered if delivery else 1):
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
            return await super().run_task(target, message, ack_controller)
        logger.warning("Skipped task %s %s: %s", message.task_name, message.task_id, expired)
        return TaskiqResult(
            is_err=True,
            return_value=None,
            execution_time=0.0,
            error=expired,
            labels=message.labels,
        )
