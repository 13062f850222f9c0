"""`/admin/schedules`: runtime schedules (django-celery-beat style), stored in Redis as JSON.

A schedule added here is picked up by every running scheduler within `SCHEDULER_POLL_SECONDS`.
Schedules defined in code (task labels) are not managed here; their ids are reserved.
Reading needs the viewer role, adding and deleting the operator role (app/security.py); a
schedule may name only a schedulable task, with arguments that fit it (tasks/policy.py),
in a body of at most CONTROL_BODY_MAX_BYTES (app/main.py).
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from taskiq import ScheduledTask
from taskiq_durable.scheduler.cron import CronExpr
from taskiq_durable.scheduler.sources import RuntimeScheduleSource
from taskiq_durable.scheduler.specs import MISFIRE_LABEL, zone
from taskiq_durable.scheduler.ticks import Misfire

from app.deps import SettingsDep
from app.errors import body_error, control_responses
from app.security import OperatorDep, ViewerDep
from tasks.broker import broker
from tasks.policy import TaskRefused, argument_error, schedulable_task

router = APIRouter(prefix="/admin/schedules", tags=["admin"])


def get_source(request: Request) -> RuntimeScheduleSource:
    source: RuntimeScheduleSource = request.app.state.schedule_source
    return source


SourceDep = Annotated[RuntimeScheduleSource, Depends(get_source)]


class ScheduleIn(BaseModel):
    """Exactly one of `cron`, `interval_seconds`, `at`."""

    # A misspelt field ("kwarg") is an error, not a schedule silently sent without it.
    model_config = ConfigDict(extra="forbid")

    schedule_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,100}$")] | None = None
    task_name: str
    args: list[Any] = []
    # Aliased: a field named `kwargs` clashes with the pydantic mypy plugin's `__init__`.
    keywords: Annotated[dict[str, Any], Field(alias="kwargs")] = {}
    cron: str | None = None
    interval_seconds: Annotated[int, Field(ge=1)] | None = None
    at: AwareDatetime | None = None
    # Timezone of `cron` (IANA name); the stack's TIMEZONE when omitted.
    timezone: str | None = None
    # What to do with a tick missed while no scheduler ran; SCHEDULER_MISFIRE_DEFAULT if omitted.
    misfire: Misfire | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            CronExpr.parse(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> Self:
        given = [self.cron, self.interval_seconds, self.at]
        if sum(value is not None for value in given) != 1:
            raise ValueError("give exactly one of cron, interval_seconds, at")
        if self.timezone is not None and self.cron is None:
            raise ValueError("timezone applies to cron schedules only")
        return self


class ScheduleOut(BaseModel):
    model_config = ConfigDict(validate_by_name=True)

    schedule_id: str
    task_name: str
    args: list[Any]
    keywords: Annotated[dict[str, Any], Field(alias="kwargs")]
    cron: str | None
    timezone: str | None
    interval_seconds: int | None
    at: datetime | None
    misfire: str | None
    last_handled: datetime | None  # the last tick sent (or skipped) by any scheduler


def _out(task: ScheduledTask, handled: datetime | None) -> ScheduleOut:
    interval = task.interval
    return ScheduleOut(
        schedule_id=task.schedule_id,
        task_name=task.task_name,
        args=task.args,
        keywords=task.kwargs,
        cron=task.cron,
        timezone=task.cron_offset if isinstance(task.cron_offset, str) else None,
        interval_seconds=int(interval.total_seconds())
        if isinstance(interval, timedelta)
        else interval,
        at=task.time,
        misfire=task.labels.get(MISFIRE_LABEL),
        last_handled=handled,
    )


def _code_schedule_ids() -> set[str]:
    return {
        schedule.get("schedule_id", "")
        for task in broker.get_all_tasks().values()
        for schedule in task.labels.get("schedule", [])
    }


@router.post("", status_code=status.HTTP_201_CREATED, responses=control_responses(400, 409, 413))
async def create_schedule(
    _: OperatorDep, body: ScheduleIn, source: SourceDep, settings: SettingsDep
) -> ScheduleOut:
    try:
        schedulable_task(body.task_name)
    except TaskRefused as exc:
        raise body_error("task_name", body.task_name, str(exc)) from exc
    if error := argument_error(body.task_name, body.args, body.keywords):
        raise body_error("args", body.args, error)
    if body.schedule_id is not None and (
        body.schedule_id in _code_schedule_ids() or await source.get_schedule(body.schedule_id)
    ):
        raise HTTPException(status.HTTP_409_CONFLICT, f"schedule {body.schedule_id!r} exists")
    labels = {} if body.misfire is None else {MISFIRE_LABEL: body.misfire.value}
    task = ScheduledTask(
        task_name=body.task_name,
        labels=labels,
        args=body.args,
        kwargs=body.keywords,
        cron=body.cron,
        cron_offset=body.timezone or (settings.timezone if body.cron else None),
        interval=body.interval_seconds,
        time=None if body.at is None else body.at.astimezone(UTC),
        **({} if body.schedule_id is None else {"schedule_id": body.schedule_id}),
    )
    await source.add_schedule(task)
    return _out(task, None)


@router.get("", responses=control_responses())
async def list_schedules(_: ViewerDep, source: SourceDep) -> list[ScheduleOut]:
    schedules = await source.all_schedules()
    handled = await source.state.handled([s.schedule_id for s in schedules])
    return [_out(s, handled[s.schedule_id]) for s in schedules]


@router.get("/{schedule_id}", responses=control_responses(404))
async def get_schedule(schedule_id: str, _: ViewerDep, source: SourceDep) -> ScheduleOut:
    task = await source.get_schedule(schedule_id)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"schedule {schedule_id!r} not found")
    return _out(task, (await source.state.handled([schedule_id]))[schedule_id])


@router.delete(
    "/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=control_responses(404)
)
async def delete_schedule(schedule_id: str, _: OperatorDep, source: SourceDep) -> Response:
    if await source.get_schedule(schedule_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"schedule {schedule_id!r} not found")
    await source.delete_schedule(schedule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
