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
"""

from typing import Any

from pydantic import BaseModel
from taskiq import TaskiqResult
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.depends.progress_tracker import TaskProgress, TaskState
from taskiq_redis.exceptions import ResultIsMissingError

from taskiq_durable.expiry import TaskExpired

PENDING, SUCCESS, FAILURE, REVOKED = "PENDING", "SUCCESS", "FAILURE", "REVOKED"
READY_STATES = frozenset({SUCCESS, FAILURE, REVOKED})
# By name: the web process rebuilds a stored error from its type name, and may not import
# the module that defines it (taskiq_durable.revoke's TaskRevoked).
REVOKING_ERRORS = frozenset({TaskExpired.__name__, "TaskRevoked"})


class ErrorInfo(BaseModel):
    type: str
    message: str


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
        return REVOKED if type(result.error).__name__ in REVOKING_ERRORS else FAILURE
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
    error = result.error if result is not None else None
    return TaskStatus(
        task_id=task_id,
        state=state,
        ready=state in READY_STATES,
        progress=progress.meta if progress is not None else None,
        result=result.return_value if result is not None and not result.is_err else None,
        error=ErrorInfo(type=type(error).__name__, message=str(error)) if error else None,
    )
