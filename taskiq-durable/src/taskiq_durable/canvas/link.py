"""Celery's `link` and `link_error`: a callback kicked when one task succeeds or finally fails.

The callbacks travel as labels (`canvas_link`, `canvas_link_error`: a JSON `Signature`) and are
kicked by `CanvasMiddleware.post_save`, after the result is stored. Retries are not failures
here: a retry middleware turns an intermediate error into `NoResultError`, which is never saved.

    link:       callback(result, *sig.args, **sig.kwargs)
    link_error: errback(TaskFailure, *sig.args, **sig.kwargs)
"""

import logging
from typing import Any

from pydantic import BaseModel
from taskiq import AsyncBroker, TaskiqMessage, TaskiqResult

from taskiq_durable.canvas.signature import Signature

LINK = "canvas_link"
LINK_ERROR = "canvas_link_error"

logger = logging.getLogger(__name__)


class TaskFailure(BaseModel):
    """What an error callback receives about the task that failed."""

    task_id: str
    task_name: str
    error_type: str
    error: str


def failure_of(message: TaskiqMessage, result: TaskiqResult[Any]) -> TaskFailure:
    return TaskFailure(
        task_id=message.task_id,
        task_name=message.task_name,
        error_type=type(result.error).__name__,
        error=str(result.error),
    )


async def fire_links(
    broker: AsyncBroker, message: TaskiqMessage, result: TaskiqResult[Any]
) -> None:
    label = LINK_ERROR if result.is_err else LINK
    raw = message.labels.get(label)
    if raw is None:
        return
    callback = Signature.from_json(raw)
    first = failure_of(message, result) if result.is_err else result.return_value
    # Deterministic id: a redelivered parent re-kicks the same callback id, not a second one.
    await callback.kiq(broker, first, task_id=f"{message.task_id}.{label}")
    logger.info("%s of %s: kicked %s", label, message.task_id, callback.task_name)
