"""Per-task time limits, as in Celery: `@broker.task(time_limit=60, soft_time_limit=50)`.

Labels (seconds, > 0; also per kick: `.kicker().with_labels(time_limit=5)`):

- `soft_time_limit`: `SoftTimeLimitExceeded` is raised inside the task at its current `await`.
  The task may catch it and clean up; uncaught, the task fails with it.
- `time_limit` (hard): the task is cancelled at its current `await` (`finally` blocks run) and
  fails with `TimeLimitExceeded`, a `TimeoutError`: an ordinary failure that retry policies see.

Both count from the moment the worker starts the message (dependencies included). taskiq's own
`timeout` label stays available but records a bare `TimeoutError` and has no soft stage.
Only async task functions can be stopped while they run; CPU-bound sync work goes through
`tasks.cpu_pool`, which kills its process at the limit.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taskiq import TaskiqMessage, TaskiqMiddleware

from tasks.interrupt import Executions

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


def parse_limits(labels: Mapping[str, Any]) -> TimeLimits:
    """The limits a message's labels ask for; `ValueError` says what is wrong with them."""
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
        execution = self._executions.track(message, self.broker)
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
