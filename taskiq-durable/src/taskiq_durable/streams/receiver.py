"""The receiver base our stream broker needs (the Procfile's `--receiver` derives from it).

taskiq runs each message's callback as a bare asyncio task and never looks at its outcome: if
anything around the task body fails (a middleware's pre_execute, a result backend call), the
exception vanishes and the message is never acknowledged. Our heartbeat would then hold that
message for the life of the child. This receiver logs such failures and releases the message
from the heartbeat, so it is redelivered after REDELIVERY_TIMEOUT_SECONDS like any crash.

Subclasses override `handle`, not `callback`, so that this wraps everything they do too.

It is also the one source of a child's concurrency: the limit `taskiq worker --max-async-tasks`
(+ `--max-async-tasks-jitter`, `--max-prefetch`) gives the receiver is what the stream broker
fetches at most (`StreamBroker.hold_at_most`), so the two can never disagree.
"""

import logging
import random
from concurrent.futures import Executor
from typing import Any

from taskiq import AckableMessage, AsyncBroker
from taskiq.receiver import Receiver

from taskiq_durable.streams.ack import StreamAck
from taskiq_durable.streams.broker import StreamBroker
from taskiq_durable.streams.inflight import Delivery

logger = logging.getLogger(__name__)


def delivery_of(message: bytes | AckableMessage) -> Delivery | None:
    """The stream delivery a message came from (its id and delivery count), if any."""
    if isinstance(message, AckableMessage) and isinstance(message.ack, StreamAck):
        return message.ack.delivery
    return None


class StreamReceiver(Receiver):
    def __init__(
        self,
        broker: AsyncBroker,
        executor: Executor | None = None,
        validate_params: bool = True,
        max_async_tasks: int | None = None,
        max_async_tasks_jitter: int = 0,
        max_prefetch: int = 0,
        **kwargs: Any,
    ) -> None:
        limit = max_async_tasks
        if limit is not None and limit > 0 and max_async_tasks_jitter > 0:
            # Drawn here rather than by taskiq, so that the broker is sized to the same number.
            limit += random.randint(0, max_async_tasks_jitter)  # load spreading, not secrets
        super().__init__(
            broker,
            executor,
            validate_params,
            max_async_tasks=limit,
            max_async_tasks_jitter=0,
            max_prefetch=max_prefetch,
            **kwargs,
        )
        # Read by StreamBroker.startup, which refuses to run under a plain Receiver.
        broker.state.stream_receiver = True
        if isinstance(broker, StreamBroker) and limit is not None and limit > 0:
            # What taskiq's receiver takes from `listen()` at most: running + prefetched. With
            # no limit the broker stays unsized, and its startup refuses to run.
            broker.hold_at_most(limit + max_prefetch)

    async def callback(self, message: bytes | AckableMessage, raise_err: bool = False) -> None:
        try:
            await self.handle(message, raise_err)
        except Exception:
            logger.exception("handling a message failed outside its task; it will be redelivered")
        finally:
            if isinstance(message, AckableMessage) and isinstance(message.ack, StreamAck):
                message.ack.release()

    async def handle(self, message: bytes | AckableMessage, raise_err: bool = False) -> None:
        """Everything done with one message: taskiq's callback, unless a subclass adds more."""
        await super().callback(message, raise_err)
