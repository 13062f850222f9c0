"""Building dead-letter rows from what a worker has in hand: a failure, a message, raw bytes."""

import traceback
from typing import Any

from pydantic_core import to_jsonable_python
from taskiq import TaskiqMessage

from core.db.models import DeadLetter, DeadLetterReason

__all__ = ["from_failure", "from_message", "from_raw"]


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
