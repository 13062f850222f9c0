"""Task state a result backend alone can't give: STARTED, and Celery's `ignore_result`.

- STARTED, opt-in as Celery's `task_track_started`: taskiq stores nothing until a task
  finishes, so for a task labelled `track_started=True` (or every task, with `TRACK_STARTED=true`)
  `pre_execute` writes the progress key (`<result key>__progress`, same TTL as results) with
  state STARTED. Off by default: that SET is a Redis round trip per task, paid even by tasks
  nobody watches. A task that calls `ProgressTracker.set_progress("PROGRESS", meta)` (Celery's
  `update_state`) writes the progress key itself, opted in or not.
- RETRY: a failed attempt whose error a retry middleware replaced by `NoResultError` (taskiq's
  convention, and taskiq_durable.retry's: "another attempt comes, store nothing") leaves the
  progress state RETRY, keeping its meta, until the next attempt starts (tracked tasks) or ends.
- Both labels are booleans as `taskiq_durable.labels` reads them ("1", "yes", "on" are true).
- `ignore_result=True` label: a successful result is not stored (taskiq's `NoResultError`
  semantics: the receiver skips `set_result` and `post_save`), and no STARTED marker is written
  even if asked for, so the task stays PENDING like Celery's. Failures are still stored: an
  error nobody can see is an error lost (Celery's `task_store_errors_even_if_ignored=True`).
"""

from collections.abc import Mapping
from typing import Any

from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult
from taskiq.depends.progress_tracker import TaskProgress, TaskState
from taskiq.exceptions import NoResultError

from taskiq_durable.config import DurableConfig
from taskiq_durable.labels import label_flag

IGNORE_RESULT = "ignore_result"
TRACK_STARTED = "track_started"


def check_flags(labels: Mapping[str, Any]) -> None:
    """`ValueError` when `ignore_result` or `track_started` is not a boolean
    (taskiq_durable.labels says what is)."""
    for name in (IGNORE_RESULT, TRACK_STARTED):
        label_flag(labels, name)


def tracks_started(labels: Mapping[str, Any], default: bool) -> bool:
    """Whether a STARTED marker is written: the task's label if it sets one, else TRACK_STARTED.
    Never for `ignore_result` tasks, which stay PENDING as Celery's do."""
    if label_flag(labels, IGNORE_RESULT):
        return False
    return label_flag(labels, TRACK_STARTED, default)


class LifecycleMiddleware(TaskiqMiddleware):
    def __init__(self, settings: DurableConfig) -> None:
        super().__init__()
        self._track_started = settings.track_started

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        # Bad flags fail in the caller of `.kiq()`, before anything is queued.
        check_flags(message.labels)
        return message

    async def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        if tracks_started(message.labels, self._track_started):
            await self.broker.result_backend.set_progress(
                message.task_id, TaskProgress(state=TaskState.STARTED, meta=None)
            )
        return message

    async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        if label_flag(message.labels, IGNORE_RESULT):
            if not result.is_err:
                result.error = NoResultError()
            return
        if retry_pending(result):
            progress = await self.broker.result_backend.get_progress(message.task_id)
            meta = progress.meta if progress is not None else None
            await self.broker.result_backend.set_progress(
                message.task_id, TaskProgress(state=TaskState.RETRY, meta=meta)
            )


def retry_pending(result: TaskiqResult[Any]) -> bool:
    """A failed attempt that will not be stored because another attempt follows it."""
    return result.is_err and isinstance(result.error, NoResultError)
