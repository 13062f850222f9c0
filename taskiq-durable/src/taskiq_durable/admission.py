"""What a worker decides about a received message before taskiq's callback sees it.

In order: a message delivered more than MAX_DELIVERIES times (a poison message) and one that
must not run (undecodable, unknown task, bad arguments) become dead letters; one received
before its `eta` is parked in delayed delivery until then; one over its task's `rate_limit`
gets the next free start slot and is parked until that slot. A run-once message (a chord's
callback) runs only for its first kick (taskiq_durable.canvas.once). Everything else runs now.
A parked or dead-lettered message is stored before it is acknowledged, so a crash in between
runs it twice, never zero times.

A dead-lettered message with a task id also ends that task: a `TaskDeadLettered` result is
stored under its id (unless a result is stored already) and the middlewares' `post_save` sees it,
as for any stored result, so waiters, status readers and the canvas (link_error, chords) see the
final state at once instead of PENDING for ever.
"""

import logging
import time

from taskiq import AsyncBroker, TaskiqMessage, TaskiqMiddleware
from taskiq.utils import maybe_awaitable

from taskiq_durable.canvas.once import ONCE, first_kick
from taskiq_durable.dead_letters.checks import CallShape, Checked, check_message, poison_letter
from taskiq_durable.dead_letters.letters import (
    DEAD_LETTER_LABEL,
    DeadLetter,
    dead_lettered_result,
)
from taskiq_durable.delayed import ETA, DelayedDelivery, delayed_delivery, relabel
from taskiq_durable.durable_broker import durable_broker
from taskiq_durable.rate_limit import RATE_LIMIT, RATE_SLOT, RateLimiter, parse_rate
from taskiq_durable.streams.poison import poison_error

__all__ = ["Admission"]

logger = logging.getLogger(__name__)

# Clocks of the poller's and the receiver's hosts may differ by this much without a due message
# being parked again.
EARLY_TOLERANCE = 0.01


class Admission:
    def __init__(self, broker: AsyncBroker) -> None:
        self._broker = durable_broker(broker)
        self._shapes: dict[str, CallShape] = {}
        self._limiter: RateLimiter | None = None
        self._max_deliveries = self._broker.config.max_deliveries

    async def admit(self, raw: bytes, times_delivered: int = 1) -> TaskiqMessage | None:
        """The message to run now, as decoded (labels not parsed yet); None when it was stored
        elsewhere and is to be acknowledged."""
        # Poison first: the checks below are part of the handling that may be what keeps failing.
        checked: Checked | DeadLetter
        if poison := poison_error(times_delivered, self._max_deliveries):
            checked = poison_letter(self._broker, raw, poison, attempts=times_delivered - 1)
        else:
            checked = check_message(self._broker, raw, self._shapes)
        if isinstance(checked, DeadLetter):
            await self._broker.dead_letters.record(checked)
            logger.warning(
                "dead-lettered message for %r (%s): %s",
                checked.task_name,
                checked.reason.value,
                checked.error,
            )
            await self._end(checked)
            return None
        if await self._park(checked.message):
            return None
        # Only run-once messages (a chord's outcome) ask Redis; every other message runs.
        labels = checked.message.labels
        if ONCE in labels and not await first_kick(
            delayed_delivery(self._broker).redis, self._broker.config, labels
        ):
            logger.info(
                "task %s %s: another kick of it ran already, not run again",
                checked.message.task_name,
                checked.message.task_id,
            )
            return None
        return checked.received

    async def _end(self, letter: DeadLetter) -> None:
        """Store the letter's final state under its task id and hand it to `post_save`, as
        taskiq's receiver does with a result it stored (in the same, reversed, order)."""
        if letter.task_id is None or letter.task_name is None:
            return  # undecodable: no task to end
        result = dead_lettered_result(letter)
        backend = self._broker.results
        async with backend.redis.pipeline(transaction=False) as pipe:
            # A result stored already wins: a poison message may have succeeded before it
            # kept crashing its worker ahead of the acknowledgement.
            backend.set_result_in(pipe, letter.task_id, result, unless_stored=True)
            pipe.get(backend.key(letter.task_id))
            _, raw = await pipe.execute()
        # Ours, from this delivery or from one that crashed before `post_save` finished (its
        # kicks use deterministic task ids, so running it again kicks nothing twice).
        if DEAD_LETTER_LABEL not in backend.load(raw).labels:
            return
        message = TaskiqMessage(
            task_id=letter.task_id,
            task_name=letter.task_name,
            labels=letter.labels,
            args=letter.args,
            kwargs=letter.kwargs,
        )
        for middleware in reversed(self._broker.middlewares):
            if middleware.__class__.post_save != TaskiqMiddleware.post_save:
                await maybe_awaitable(middleware.post_save(message, result))

    async def _park(self, message: TaskiqMessage) -> bool:
        delayed = delayed_delivery(self._broker)
        now = time.time()
        eta = float(message.labels.get(ETA, 0.0))
        if eta > now + EARLY_TOLERANCE:
            await delayed.schedule(message, eta)
            return True
        rate = message.labels.get(RATE_LIMIT)
        if rate is None or RATE_SLOT in message.labels:
            return False
        slot = await self._rate_limiter(delayed).reserve(
            message.task_name, parse_rate(str(rate)), now
        )
        if slot <= now + EARLY_TOLERANCE:
            return False
        await delayed.schedule(relabel(message, {RATE_SLOT: slot}), slot)
        return True

    def _rate_limiter(self, delayed: DelayedDelivery) -> RateLimiter:
        if self._limiter is None:
            self._limiter = RateLimiter(delayed.redis, self._broker.config.key("rate"))
        return self._limiter
