"""Dead letters as values, built from what a worker has in hand: a failure, a message, raw bytes.

A store (`taskiq_durable.dead_letters.store`) decides where they are kept."""

import enum
import traceback
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_jsonable_python
from taskiq import TaskiqMessage, TaskiqResult

__all__ = [
    "DEAD_LETTER_LABEL",
    "DeadLetter",
    "DeadLetterReason",
    "TaskDeadLettered",
    "dead_lettered_result",
    "from_failure",
    "from_message",
    "from_raw",
]

# The label a stored result carries when its message was dead-lettered: the reason.
DEAD_LETTER_LABEL = "dead_letter"


class DeadLetterReason(enum.StrEnum):
    EXHAUSTED = "exhausted"  # failed on its last allowed attempt
    FAILED = "failed"  # raised an exception its retry policy does not retry
    UNDECODABLE = "undecodable"  # not a taskiq message, or labels that can't be read
    UNKNOWN_TASK = "unknown_task"  # names a task this worker does not have
    BAD_ARGUMENTS = "bad_arguments"  # arguments that don't fit the task's signature
    POISON = "poison"  # delivered more than max_deliveries times without completing


class TaskDeadLettered(Exception):
    """The stored outcome of a task whose message was dead-lettered before it could run
    (undecodable labels, unknown task, bad arguments, poison): waiters and status readers see
    it at once instead of waiting for a result that never comes.

    Its args are `(reason, error)`, so a process that rebuilds it from the stored result
    without this class (taskiq recreates unknown exception types from name and args) still
    reads both."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(reason, error)

    def __str__(self) -> str:
        reason, error = self.args
        return f"dead-lettered ({reason}): {error}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """A message that did not (or could not) run to success. JSON-ready: arguments and labels
    are plain JSON values, and text holds no NUL character (PostgreSQL refuses them)."""

    reason: DeadLetterReason
    error: str
    task_name: str | None = None
    task_id: str | None = None
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    traceback: str | None = None
    attempts: int = 0
    # The message as received, when it could not be decoded into task name and arguments.
    raw: str | None = None


def _text(value: Any) -> Any:
    """`value` with NUL characters spelled out: PostgreSQL text and jsonb refuse them."""
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, list):
        return [_text(item) for item in value]
    if isinstance(value, dict):
        return {_text(key): _text(item) for key, item in value.items()}
    return value


def _json(value: Any) -> Any:
    # Arguments were parsed into their annotated types (UUID, Decimal...) before the task ran.
    return _text(to_jsonable_python(value, fallback=repr))


def from_message(
    message: TaskiqMessage,
    reason: DeadLetterReason,
    error: str,
    *,
    attempts: int = 0,
    trace: str | None = None,
) -> DeadLetter:
    return DeadLetter(
        task_name=message.task_name,
        task_id=message.task_id,
        args=_json(message.args),
        kwargs=_json(message.kwargs),
        labels=_json(message.labels),
        reason=reason,
        error=_text(error),
        traceback=_text(trace),
        attempts=attempts,
    )


def from_failure(
    message: TaskiqMessage, exc: BaseException, *, attempts: int, reason: DeadLetterReason
) -> DeadLetter:
    return from_message(
        message,
        reason,
        repr(exc),
        attempts=attempts,
        trace="".join(traceback.format_exception(exc)),
    )


def from_raw(
    raw: bytes, error: str, *, reason: DeadLetterReason = DeadLetterReason.UNDECODABLE
) -> DeadLetter:
    return DeadLetter(
        args=[],
        kwargs={},
        labels={},
        reason=reason,
        error=_text(error),
        raw=_text(raw.decode(errors="backslashreplace")),
    )


def dead_lettered_result(letter: DeadLetter) -> TaskiqResult[None]:
    """The result stored under the task id of a letter whose task never ran."""
    return TaskiqResult[None](
        is_err=True,
        return_value=None,
        execution_time=0.0,
        labels={**letter.labels, DEAD_LETTER_LABEL: letter.reason.value},
        error=TaskDeadLettered(letter.reason.value, letter.error),
    )
