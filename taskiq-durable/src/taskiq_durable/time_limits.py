"""Per-task time limits, as in Celery: `@broker.task(time_limit=60, soft_time_limit=50)`.

Labels (seconds, > 0; also per kick: `.kicker().with_labels(time_limit=5)`):

- `soft_time_limit`: `SoftTimeLimitExceeded` is raised inside the task at its current `await`.
  The task may catch it and clean up; uncaught, the task fails with it.
- `time_limit` (hard): the task is cancelled at its current `await` (`finally` blocks run) and
  fails with `TimeLimitExceeded`, a `TimeoutError`: an ordinary failure that retry policies see.

Both count from the moment the worker starts the message (dependencies included). taskiq's own
`timeout` label stays available but records a bare `TimeoutError` and has no soft stage.
Only async task functions can be stopped while they run; CPU-bound sync work goes through
`taskiq_durable.cpu_pool`, which kills its process at the limit.
"""

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taskiq import TaskiqMessage, TaskiqMiddleware

from taskiq_durable.interrupt import Executions

SOFT_LABEL = "soft_time_limit"
HARD_LABEL = "time_limit"


class SoftTimeLimitExceeded(Exception):  # Celery's name
    """Raised inside a task at its soft time limit; catch it to clean up."""


class TimeLimitExceeded(TimeoutError):  # Celery's name
    """A task (or a `run_cpu` call) ran past its hard time limit and was stopped."""


@dataclass(frozen=True, slots=True)
class TimeLimits:
    soft: float | None = None
    hard: float | None = None


def _seconds(labels: Mapping[str, Any], name: str) -> float | None:
    value = labels.get(name)
    if value is None:
        return None
    # Labels may travel as strings; bool is an int to Python but never a duration.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"label {name}={value!r}: expected seconds as a number")
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"label {name}={value!r}: expected seconds as a number") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"label {name}={value!r}: expected a positive number of seconds")
    return seconds


NO_LIMITS = TimeLimits()


def parse_limits(labels: Mapping[str, Any]) -> TimeLimits:
    """The limits a message's labels ask for; `ValueError` says what is wrong with them."""
    soft, hard = labels.get(SOFT_LABEL), labels.get(HARD_LABEL)
    if soft is None and hard is None:
        return NO_LIMITS  # most tasks: this runs for every message a worker starts
    try:
        return _limits(soft, hard)
    except TypeError:  # an unhashable label value: not a number either
        return _limits.__wrapped__(soft, hard)


@functools.lru_cache(maxsize=256, typed=True)  # typed: True is not 1 second
def _limits(soft: object, hard: object) -> TimeLimits:
    """Cached per pair of label values: a task's limits are the same on every message."""
    labels = {SOFT_LABEL: soft, HARD_LABEL: hard}
    limits = TimeLimits(soft=_seconds(labels, SOFT_LABEL), hard=_seconds(labels, HARD_LABEL))
    if limits.soft is not None and limits.hard is not None and limits.soft >= limits.hard:
        raise ValueError(
            f"label {SOFT_LABEL}={limits.soft:g} must be below {HARD_LABEL}={limits.hard:g}"
        )
    return limits


class TimeLimitMiddleware(TaskiqMiddleware):
    def __init__(self, executions: Executions) -> None:
        super().__init__()
        self._executions = executions

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        # Bad limits fail in the caller of `.kiq()`, before anything is queued.
        parse_limits(message.labels)
        return message

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        execution = self._executions.track(message)
        try:
            limits = parse_limits(message.labels)
        except ValueError as exc:
            # Sent by a client without this middleware: fail the task, never the worker.
            execution.stop(exc)
            return message
        name = message.task_name
        if limits.soft is not None:
            soft = SoftTimeLimitExceeded(f"{name}: soft time limit ({limits.soft:g}s)")
            execution.call_later(limits.soft, lambda: execution.interrupt(soft))
        if limits.hard is not None:
            hard = TimeLimitExceeded(f"{name}: hard time limit ({limits.hard:g}s)")
            execution.call_later(limits.hard, lambda: execution.stop(hard))
        return message
