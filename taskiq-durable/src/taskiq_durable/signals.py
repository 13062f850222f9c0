"""Celery's task signals as one middleware: a structured log line per task event, with timing.

Where each Celery signal went:

- `worker_process_init` / `worker_process_shutdown` -> `TaskiqEvents.WORKER_STARTUP` /
  `WORKER_SHUTDOWN` handlers (tasks/runtime.py), run in each worker child on its own loop;
- `task_prerun`, `task_postrun`, `task_success`, `task_failure`, `task_retry` -> the
  `pre_execute`, `on_error` and `post_execute` hooks of a `TaskiqMiddleware`, this one.

Lines, in this order per attempt (the attempt's outcome decides the middle one):

    task_prerun task=imports.run id=3f2a attempt=1
    task_retry task=imports.run id=3f2a attempt=1 duration=0.012 exc=ConnectionError('...')
    task_postrun task=imports.run id=3f2a attempt=1 duration=0.012 state=RETRY

The outcome is read in `post_execute`, after every middleware's `on_error`: a failure that
taskiq_durable/retry.py turned into a retry carries `NoResultError` by then.
"""

import logging
import time
from dataclasses import dataclass
from typing import Any

from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult
from taskiq.exceptions import NoResultError

from taskiq_durable.backoff import RETRIES

__all__ = ["TaskSignals"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Attempt:
    started: float
    error: BaseException | None = None


class TaskSignals(TaskiqMiddleware):
    def __init__(self) -> None:
        super().__init__()
        # Attempts running in this worker child, by task id (an id runs one attempt at a time).
        self._running: dict[str, _Attempt] = {}

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        self._running[message.task_id] = _Attempt(time.monotonic())
        logger.info("task_prerun %s", _describe(message))
        return message

    def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        attempt = self._running.get(message.task_id)
        # NoResultError is a deliberate "no result" (ignore_result, requeue), not a failure.
        if attempt is not None and not isinstance(exception, NoResultError):
            attempt.error = exception

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        attempt = self._running.pop(message.task_id, None)
        if attempt is None:
            return
        timing = f"{_describe(message)} duration={time.monotonic() - attempt.started:.3f}"
        if attempt.error is None:
            state = "SUCCESS"
            logger.info("task_success %s", timing)
        elif isinstance(result.error, NoResultError):
            state = "RETRY"
            logger.info("task_retry %s exc=%r", timing, attempt.error)
        else:
            state = "FAILURE"
            logger.warning("task_failure %s exc=%r", timing, attempt.error)
        logger.info("task_postrun %s state=%s", timing, state)


def _describe(message: TaskiqMessage) -> str:
    attempt = int(message.labels.get(RETRIES, 0)) + 1
    return f"task={message.task_name} id={message.task_id} attempt={attempt}"
