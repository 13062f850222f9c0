"""Which tasks the control routes may send, and with which arguments.

A runtime schedule (and any run-now) may name only a task that opts in with the
`schedulable=True` label and is defined in one of the stack's task modules (`tasks.registry`):
registered helpers of libraries (taskiq-pipelines' `filter_tasks`, canvas internals) never are,
whatever their labels. Its arguments must fit the task's signature and types
(`taskiq_durable`'s `CallShape`, what the worker checks before running a message), checked
before anything is stored. A replay (route or CLI) may send any registered task, but only with
arguments that still fit it.
"""

from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import AsyncTaskiqDecoratedTask
from taskiq_durable.dead_letters.checks import CallShape
from taskiq_durable.dead_letters.sql import DeadLetterRow, NotReplayable, replay

from tasks import registry
from tasks.broker import broker

__all__ = [
    "SCHEDULABLE",
    "TaskRefused",
    "argument_error",
    "checked_replay",
    "schedulable_task",
    "schedulable_tasks",
]

# The label a task opts in with: `@broker.task(task_name=..., schedulable=True)`.
SCHEDULABLE = "schedulable"
STACK_MODULES = frozenset(getattr(registry, name).__name__ for name in registry.__all__)

AnyTask = AsyncTaskiqDecoratedTask[Any, Any]


class TaskRefused(ValueError):
    """The task can't be sent from the API; the message says why."""


def _is_schedulable(task: AnyTask) -> bool:
    return task.original_func.__module__ in STACK_MODULES and task.labels.get(SCHEDULABLE) is True


def schedulable_tasks() -> list[str]:
    return sorted(name for name, task in broker.get_all_tasks().items() if _is_schedulable(task))


def schedulable_task(name: str) -> AnyTask:
    """The task `name` when a schedule may name it."""
    task = broker.find_task(name)
    allowed = ", ".join(schedulable_tasks())
    if task is None:
        raise TaskRefused(f"unknown task {name!r}; schedulable tasks: {allowed}")
    if task.original_func.__module__ not in STACK_MODULES:
        raise TaskRefused(
            f"task {name!r} is internal (defined in {task.original_func.__module__}, not in"
            f" the stack's task modules) and never schedulable; schedulable tasks: {allowed}"
        )
    if not _is_schedulable(task):
        raise TaskRefused(
            f"task {name!r} is not schedulable from the API (its decorator does not opt in"
            f" with {SCHEDULABLE}=True); schedulable tasks: {allowed}"
        )
    return task


@cache
def _shape(name: str) -> CallShape:
    task = broker.find_task(name)
    if task is None:
        raise LookupError(name)
    return CallShape.of(task.original_func)


def argument_error(name: str, args: list[Any], kwargs: dict[str, Any]) -> str | None:
    """Why `args`/`kwargs` can't be sent to the registered task `name`, or None."""
    error = _shape(name).error(args, kwargs)
    return None if error is None else f"arguments do not fit task {name!r}: {error}"


def _replay_error(name: str, args: list[Any], kwargs: dict[str, Any]) -> str | None:
    if broker.find_task(name) is None:
        return (
            f"task {name!r} is not registered here (tasks.registry): deploy the code that"
            " defines it before replaying its dead letters"
        )
    return argument_error(name, args, kwargs)


async def checked_replay(session: AsyncSession, letter_id: int) -> DeadLetterRow:
    """`replay`, refusing (NotReplayable) a letter whose task is not registered or whose
    arguments no longer fit it: sent anyway, it would only become a dead letter again."""
    stored = await session.get(DeadLetterRow, letter_id)
    # No row, or no task name (undecodable): replay() says why.
    if (
        stored is not None
        and stored.task_name is not None
        and (error := _replay_error(stored.task_name, stored.args, stored.kwargs))
    ):
        raise NotReplayable(f"dead letter {letter_id}: {error}")
    return await replay(session, broker, letter_id)
