"""The messages a worker must not run: undecodable, naming an unknown task, or with arguments
that don't fit the task's signature. taskiq acks and drops the first two with a log line, and
runs the third until it fails with a `TypeError`; here each becomes a dead letter instead. So
does a poison message (delivered too often, taskiq_durable/streams/poison.py), whatever it holds.
"""

import inspect
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from taskiq import AsyncBroker, TaskiqMessage
from taskiq_dependencies.dependency import Dependency

from taskiq_durable.backoff import RETRIES, policy_from_labels
from taskiq_durable.dead_letters.letters import DeadLetter, DeadLetterReason, from_message, from_raw
from taskiq_durable.delayed import ETA
from taskiq_durable.lifecycle import check_flags
from taskiq_durable.rate_limit import RATE_LIMIT, parse_rate

__all__ = ["CallShape", "Checked", "check_message", "poison_letter"]


def _dependency_types() -> tuple[type, ...]:
    """Markers of injected parameters: taskiq's, and FastAPI's when FastAPI is loaded (tasks
    shared with routes through taskiq-fastapi declare theirs with `Depends`). Looked up, not
    imported: a task with a FastAPI marker has loaded FastAPI, and a worker without one needs
    none."""
    params = sys.modules.get("fastapi.params")
    depends = getattr(params, "Depends", None)
    return (Dependency,) if depends is None else (Dependency, depends)


@dataclass(frozen=True, slots=True)
class CallShape:
    """What a caller must pass: the signature without injected parameters, and their types."""

    signature: inspect.Signature
    adapters: Mapping[str, TypeAdapter[Any]]

    @classmethod
    def of(cls, func: Callable[..., Any]) -> "CallShape":
        hints = typing.get_type_hints(func, include_extras=True)
        markers = _dependency_types()
        params = [
            param
            for name, param in inspect.signature(func).parameters.items()
            if not isinstance(param.default, markers)
            and not any(
                isinstance(m, markers) for m in getattr(hints.get(name), "__metadata__", ())
            )
        ]
        adapters = {
            p.name: TypeAdapter(hints[p.name]) for p in params if hints.get(p.name, Any) is not Any
        }
        return cls(inspect.Signature(params), adapters)

    def error(self, args: list[Any], kwargs: dict[str, Any]) -> str | None:
        """Why `args`/`kwargs` can't be passed to the task, or None when they can."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            return str(exc)
        for name, value in bound.arguments.items():
            adapter = self.adapters.get(name)
            if adapter is None:
                continue
            kind = self.signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                values = list(value)
            elif kind is inspect.Parameter.VAR_KEYWORD:
                values = list(value.values())
            else:
                values = [value]
            try:
                for item in values:
                    adapter.validate_python(item)
            except ValidationError as exc:
                return f"argument {name!r}: {exc}"
        return None


def _label_error(labels: Mapping[str, Any]) -> str | None:
    """Why the delivery labels (eta, retries, rate limit, retry policy, result flags) can't be
    read."""
    try:
        float(labels.get(ETA, 0.0))
        int(labels.get(RETRIES, 0))
        if RATE_LIMIT in labels:
            parse_rate(str(labels[RATE_LIMIT]))
        policy_from_labels(labels)
        check_flags(labels)
    except (TypeError, ValueError) as exc:
        return f"unreadable labels: {exc}"
    return None


@dataclass(frozen=True, slots=True)
class Checked:
    """A message that may run."""

    # As the broker's formatter decoded it, labels not yet parsed: what taskiq's receiver
    # callback is handed instead of decoding the bytes again (taskiq_durable.receiver).
    received: TaskiqMessage
    # Its labels parsed, as taskiq parses them: what the checks and the parking read.
    message: TaskiqMessage


def check_message(
    broker: AsyncBroker, raw: bytes, shapes: dict[str, CallShape]
) -> Checked | DeadLetter:
    """The decoded message when it can run; otherwise its dead letter. `shapes` is a cache."""
    try:
        received = broker.formatter.loads(raw)
        # A copy of the labels: parsing rewrites them in place, and taskiq parses `received`.
        message = received.model_copy(update={"labels": dict(received.labels)})
        message.parse_labels()
    except (TypeError, ValueError) as exc:
        return from_raw(raw, f"cannot decode message: {exc}")
    if error := _label_error(message.labels):
        return from_message(message, DeadLetterReason.UNDECODABLE, error)
    task = broker.find_task(message.task_name)
    if task is None:
        return from_message(
            message,
            DeadLetterReason.UNKNOWN_TASK,
            f"no task named {message.task_name!r} is registered in this worker",
        )
    shape = shapes.get(message.task_name)
    if shape is None:
        shape = shapes[message.task_name] = CallShape.of(task.original_func)
    if error := shape.error(message.args, message.kwargs):
        return from_message(message, DeadLetterReason.BAD_ARGUMENTS, error)
    return Checked(received, message)


def poison_letter(broker: AsyncBroker, raw: bytes, error: str, *, attempts: int) -> DeadLetter:
    """The dead letter of a message that must not run again, whatever it holds: nothing about
    it is checked, since any step of its handling may be what keeps failing."""
    try:
        message = broker.formatter.loads(raw)
        message.parse_labels()
    except (TypeError, ValueError) as exc:
        return from_raw(
            raw, f"{error}; cannot decode message: {exc}", reason=DeadLetterReason.POISON
        )
    return from_message(message, DeadLetterReason.POISON, error, attempts=attempts)
