"""`GET /tasks/{task_id}`: Celery's `AsyncResult(task_id)` over HTTP, for any task.

An id nobody knows answers PENDING with 200, as Celery does: the backend can't tell a queued
task from an unknown or expired one (docs/patterns/results.md).
"""

from typing import Annotated

from fastapi import APIRouter, Path
from taskiq_durable.status import TaskStatus, read_status

from tasks.broker import broker

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.get("/{task_id}")
async def task_status(task_id: Annotated[str, Path(min_length=1, max_length=200)]) -> TaskStatus:
    return await read_status(broker.result_backend, task_id)
