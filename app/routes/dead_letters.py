"""`/admin/dead-letters`: what failed for good or could not run, and replaying it.

Listing needs the viewer role, and shows tracebacks and raw message bodies to operators only;
replaying needs the operator role (app/security.py).
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel
from taskiq.exceptions import SendTaskError
from taskiq_durable.dead_letters import DeadLetterReason
from taskiq_durable.dead_letters.sql import DeadLetterRow, NotReplayable, list_letters

from app.deps import SessionDep
from app.errors import control_responses
from app.security import OperatorDep, ViewerDep
from tasks.policy import checked_replay

router = APIRouter(prefix="/admin/dead-letters", tags=["admin"])

# The id column is a bigint: a larger number names no letter, and must not reach the query.
MAX_ID = 2**63 - 1


# The pydantic mypy plugin's synthesized __init__ takes **kwargs, which clashes with the field.
class DeadLetterOut(BaseModel):  # type: ignore[no-redef]
    id: int
    task_name: str | None
    task_id: str | None
    args: list[Any]
    kwargs: dict[str, Any]
    labels: dict[str, Any]
    reason: DeadLetterReason
    error: str
    traceback: str | None
    attempts: int
    raw: str | None
    created_at: datetime
    replayed_at: datetime | None
    replay_task_id: str | None

    @classmethod
    def of(cls, letter: DeadLetterRow, *, operator: bool) -> "DeadLetterOut":
        out = cls.model_validate(letter, from_attributes=True)
        # A traceback (and an undecodable body) can carry whatever the task handled.
        return out if operator else out.model_copy(update={"traceback": None, "raw": None})


class Replayed(BaseModel):
    id: int
    task_id: str


@router.get("", responses=control_responses())
async def get_dead_letters(
    access: ViewerDep,  # first: a refused request opens no session
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    reason: DeadLetterReason | None = None,
) -> list[DeadLetterOut]:
    """Newest first; pass the last id seen as `before_id` for the next page."""
    letters = await list_letters(session, limit=limit, before_id=before_id, reason=reason)
    return [DeadLetterOut.of(letter, operator=access.is_operator) for letter in letters]


@router.post(
    "/{letter_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    responses=control_responses(404, 409, 503),
)
async def replay_dead_letter(
    letter_id: Annotated[int, Path(ge=1, le=MAX_ID)], _: OperatorDep, session: SessionDep
) -> Replayed:
    try:
        letter = await checked_replay(session, letter_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except NotReplayable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except SendTaskError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "task queue unavailable") from exc
    await session.commit()
    return Replayed(id=letter.id, task_id=letter.replay_task_id or "")
