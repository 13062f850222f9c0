"""Celery's `AsyncResult.state` / `.info` / `.result` for any task id, read from the result backend.

| state    | when                                                                  |
|----------|-----------------------------------------------------------------------|
| PENDING  | nothing known: queued, unknown id, `ignore_result`, or expired from Redis |
| STARTED  | a worker began it (`taskiq_durable.lifecycle` marker, `track_started` tasks)  |
| RETRY    | a retry middleware set the progress state RETRY between attempts     |
| <custom> | the task called `set_progress("PROGRESS", meta)` (Celery `update_state`) |
| SUCCESS  | a result is stored and is not an error                                |
| FAILURE  | a result is stored and is an error                                    |
| REVOKED  | the stored error is `TaskExpired` or `TaskRevoked`, or the caller says so |
| DEAD_LETTERED | its message was dead-lettered before it ran (unreadable labels, unknown |
|          | task, bad arguments, poison): the stored error is `TaskDeadLettered`    |

`error.dead_letter` is the dead-letter reason whenever the message went to the dead letters: a
DEAD_LETTERED task's, and a FAILURE's that was not retried (`failed`) or ran out of attempts
(`exhausted`). Such a task can be replayed; a replay runs under the same task id, which reads
PENDING again until its new outcome is stored.
"""

from typing import Any

from pydantic import BaseModel
from taskiq import TaskiqResult
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.depends.progress_tracker import TaskProgress, TaskState
from taskiq_redis.exceptions import ResultIsMissingError

from taskiq_durable.dead_letters.letters import DEAD_LETTER_LABEL, TaskDeadLettered
from taskiq_durable.expiry import TaskExpired

PENDING, SUCCESS, FAILURE, REVOKED = "PENDING", "SUCCESS", "FAILURE", "REVOKED"
DEAD_LETTERED = "DEAD_LETTERED"
READY_STATES = frozenset({SUCCESS, FAILURE, REVOKED, DEAD_LETTERED})
# By name: the web process rebuilds a stored error from its type name, and may not import
# the module that defines it (taskiq_durable.revoke's TaskRevoked).
REVOKING_ERRORS = frozenset({TaskExpired.__name__, "TaskRevoked"})


class ErrorInfo(BaseModel):
    type: str
    message: str
    # The dead-letter reason (taskiq_durable.DeadLetterReason) when the message was
    # dead-lettered, else None.
    dead_letter: str | None = None

    @classmethod
    def of(cls, result: TaskiqResult[Any]) -> "ErrorInfo | None":
        error = result.error
        if error is None:
            return None
        reason = result.labels.get(DEAD_LETTER_LABEL)
        if type(error).__name__ == TaskDeadLettered.__name__ and len(error.args) == 2:
            # Rebuilt from name and args when the class was not importable: read the args.
            reason, message = (str(arg) for arg in error.args)
            return cls(type=type(error).__name__, message=message, dead_letter=reason)
        return cls(
            type=type(error).__name__,
            message=str(error),
            dead_letter=None if reason is None else str(reason),
        )


class TaskStatus(BaseModel):
    task_id: str
    state: str
    ready: bool
    # Celery's `.info`: the progress meta while running.
    progress: Any = None
    result: Any = None
    error: ErrorInfo | None = None


def task_state(
    result: TaskiqResult[Any] | None, progress: TaskProgress[Any] | None, *, revoked: bool
) -> str:
    """The Celery state name; a stored result wins over progress, revocation over both."""
    if result is not None:
        if not result.is_err:
            return SUCCESS
        name = type(result.error).__name__
        if name == TaskDeadLettered.__name__:
            return DEAD_LETTERED
        return REVOKED if name in REVOKING_ERRORS else FAILURE
    if revoked:
        return REVOKED
    if progress is not None:
        state = progress.state
        return state.value if isinstance(state, TaskState) else state
    return PENDING


async def read_status(
    backend: AsyncResultBackend[Any], task_id: str, *, revoked: bool = False
) -> TaskStatus:
    try:
        result: TaskiqResult[Any] | None = await backend.get_result(task_id)
    except ResultIsMissingError:
        result = None
    progress = await backend.get_progress(task_id)
    state = task_state(result, progress, revoked=revoked)
    return TaskStatus(
        task_id=task_id,
        state=state,
        ready=state in READY_STATES,
        progress=progress.meta if progress is not None else None,
        result=result.return_value if result is not None and not result.is_err else None,
        error=ErrorInfo.of(result) if result is not None else None,
    )
