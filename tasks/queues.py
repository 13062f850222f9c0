"""Named queues and routing: Celery's `-Q`, `queue=` and `task_routes` on Redis streams.

Redis has no message priorities, so urgency is capacity: urgent work goes to its own stream,
read by its own workers, and waits behind nothing but other urgent work. Each queue is one
stream, `settings.key("queue", name)`; a worker reads the one its `WORKER_QUEUE` names.

A message's queue, first match wins (Celery's precedence):
1. the `queue_name` label (a stream), as `tasks.calling.apply_async(queue=...)` sets it;
2. the `queue` label, on the task (`@broker.task(queue=URGENT)`) or the kick
   (`.kicker().with_labels(queue=URGENT)`; the kick's label overrides the task's);
3. the first `TASK_ROUTES` pattern (`fnmatch`) matching the task name;
4. `default`.
"""

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from taskiq import TaskiqMessage, TaskiqMiddleware

from core.settings import Settings

__all__ = ["DEFAULT", "QUEUE", "QUEUES", "STREAM", "URGENT", "RoutingMiddleware", "route"]

DEFAULT = "default"
URGENT = "urgent"
QUEUES = (DEFAULT, URGENT)

# The label a task or a kick names its queue with.
QUEUE = "queue"
# The label taskiq-redis reads in `kick()`: the stream the message is XADDed to.
STREAM = "queue_name"


def stream_name(settings: Settings, queue: str) -> str:
    """The stream of `queue`; an unknown name is refused, as no worker would ever read it."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}: known queues are {', '.join(QUEUES)}")
    return settings.key("queue", queue)


def route(task_name: str, labels: Mapping[str, Any], routes: Mapping[str, str]) -> str:
    """The queue of a message without a `queue_name` label (rules 2-4 above)."""
    named = labels.get(QUEUE)
    if named is not None:
        return str(named)
    for pattern, queue in routes.items():
        if fnmatchcase(task_name, pattern):
            return queue
    return DEFAULT


class RoutingMiddleware(TaskiqMiddleware):
    """Sets every sent message's stream; a bad queue name fails the `kiq()` that used it."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._settings = settings
        self._routes = dict(settings.task_routes)
        # A typo in TASK_ROUTES stops every process at start, not the first kick it routes.
        for queue in self._routes.values():
            stream_name(settings, queue)
        self._streams = {stream_name(settings, queue) for queue in QUEUES}

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        explicit = message.labels.get(STREAM)
        if explicit is not None:
            if explicit not in self._streams:
                raise ValueError(f"unknown stream {explicit!r} in label {STREAM!r}")
            return message
        queue = route(message.task_name, message.labels, self._routes)
        message.labels[STREAM] = stream_name(self._settings, queue)
        return message
