"""`POST /tasks/{task_id}/revoke`: Celery's `revoke(task_id, terminate=True)` over HTTP.

202 when the revoke is recorded (a queued copy never starts, a running one is cancelled at its
next await, in whichever worker child runs it); 409 when the task already succeeded. The rules
are `taskiq_durable.revoke`'s. Needs the operator role (app/security.py).
"""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel
from redis.exceptions import RedisError
from taskiq_durable.revoke import TASK_ID_PATTERN, revoke

from app.deps import SettingsDep
from app.errors import control_responses
from app.security import OperatorDep
from tasks.broker import broker

router = APIRouter(prefix="/tasks", tags=["tasks"])


class Revoked(BaseModel):
    task_id: str
    state: Literal["REVOKED"] = "REVOKED"


@router.post(
    "/{task_id}/revoke",
    status_code=status.HTTP_202_ACCEPTED,
    responses=control_responses(409, 503),
)
async def revoke_task(
    task_id: Annotated[str, Path(pattern=TASK_ID_PATTERN)],
    _: OperatorDep,
    settings: SettingsDep,
) -> Revoked:
    try:
        recorded = await revoke(broker.results, settings.durable(), task_id)
    except RedisError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "task store unavailable") from exc
    if not recorded:
        raise HTTPException(status.HTTP_409_CONFLICT, f"task {task_id} already succeeded")
    return Revoked(task_id=task_id)
