"""Retries with real exponential backoff, and dead letters for failures that stay failures.

Why not taskiq's `SmartRetryMiddleware`: its "exponential" delay is `delay * retries` (linear),
its jitter adds 0-1 s whatever the delay, and on a Redis broker without a schedule source the
delay is ignored (the retry is kicked at once; with one, it waits for the scheduler's refresh).

Here the policy is per task, in labels (see `taskiq_durable.backoff`); a failed attempt with
attempts left
is parked in delayed delivery for `min(cap, base * 2**(n-1))` seconds (full jitter optional),
under the same task id, with the `retries` label counted up. A failure that is not retried
(attempts exhausted, or an exception the policy does not retry) becomes a dead letter.
"""

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from taskiq import Context, TaskiqDepends, TaskiqMessage, TaskiqMiddleware, TaskiqResult
from taskiq.exceptions import NoResultError

from taskiq_durable.backoff import RETRIES, backoff_delay, policy_from_labels
from taskiq_durable.dead_letters.letters import DEAD_LETTER_LABEL, DeadLetterReason, from_failure
from taskiq_durable.delayed import DelayedDelivery, relabel
from taskiq_durable.durable_broker import durable_broker
from taskiq_durable.rate_limit import RATE_SLOT

__all__ = ["Retries", "RetryInfo", "RetryMiddleware"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryInfo:
    """Celery's `self.request.retries`, and what is left."""

    retries: int  # failed attempts before this one
    max_attempts: int

    @property
    def attempt(self) -> int:
        return self.retries + 1

    @property
    def is_last(self) -> bool:
        return self.attempt >= self.max_attempts


def get_retry_info(context: Annotated[Context, TaskiqDepends()]) -> RetryInfo:
    labels = context.message.labels
    return RetryInfo(int(labels.get(RETRIES, 0)), policy_from_labels(labels).max_attempts)


# `async def task(..., retry: Retries = TaskiqDepends())`
Retries = Annotated[RetryInfo, TaskiqDepends(get_retry_info)]


class RetryMiddleware(TaskiqMiddleware):
    def __init__(
        self,
        delayed: DelayedDelivery,
        *,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        super().__init__()
        self._delayed = delayed
        self._uniform = uniform

    async def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        # NoResultError is a deliberate skip; a BaseException (cancellation, interrupt) is the
        # worker stopping the task, not the task failing.
        if isinstance(exception, NoResultError) or not isinstance(exception, Exception):
            return
        task = self.broker.find_task(message.task_name)
        exceptions = task.labels.get("types_of_exceptions") if task is not None else None
        policy = policy_from_labels(message.labels, tuple(exceptions) if exceptions else None)
        attempt = int(message.labels.get(RETRIES, 0)) + 1
        retryable = policy.retries_on(exception)
        if retryable and attempt < policy.max_attempts:
            delay = backoff_delay(
                attempt,
                base=policy.base,
                cap=policy.cap,
                jitter=policy.jitter,
                uniform=self._uniform,
            )
            logger.info(
                "task %s %s failed (attempt %d/%d): retrying in %.3fs",
                message.task_name,
                message.task_id,
                attempt,
                policy.max_attempts,
                delay,
            )
            # A retry pays for its own rate-limit slot, so the old reservation goes.
            retry = relabel(message, {RETRIES: attempt}, drop=(RATE_SLOT,))
            await self._delayed.schedule(retry, time.time() + delay)
            # No result yet: whoever waits on the task id keeps waiting for the last attempt.
            result.error = NoResultError()
            return
        reason = (
            DeadLetterReason.EXHAUSTED if retryable and attempt > 1 else DeadLetterReason.FAILED
        )
        letter = from_failure(message, exception, attempts=attempt, reason=reason)
        await durable_broker(self.broker).dead_letters.record(letter)
        # The receiver stores `result` next, with this error: status readers say it was
        # dead-lettered too (it can be replayed). A copy: `result.labels` may be the message's.
        result.labels = {**result.labels, DEAD_LETTER_LABEL: reason.value}
        logger.warning(
            "task %s %s dead-lettered (%s) after %d attempt(s)",
            message.task_name,
            message.task_id,
            reason.value,
            attempt,
        )
