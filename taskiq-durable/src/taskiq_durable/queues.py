"""Named queues and routing: Celery's `-Q`, `queue=` and `task_routes` on Redis streams.

Redis has no message priorities, so urgency is capacity: urgent work goes to its own stream,
read by its own workers, and waits behind nothing but other urgent work. The queues are
configuration (`DurableConfig.queues`); each is one stream, `config.key("queue", name)`, and a
worker reads the one its `worker_queue` names. A kick to a queue that is not configured is
refused at kick time: no worker would ever read it. A kick to a configured queue that no live
worker reads is sent, and warned about (`taskiq_durable.readers`): a worker may be starting.

A message's queue, first match wins (Celery's precedence):
1. the `queue_name` label (a stream), as `taskiq_durable.calling.apply_async(queue=...)` sets it;
2. the `queue` label, on the task (`@broker.task(queue="urgent")`) or the kick
   (`.kicker().with_labels(queue="urgent")`; the kick's label overrides the task's);
3. the first `TASK_ROUTES` pattern (`fnmatch`) matching the task name;
4. the default queue (the first configured one).
"""

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from redis.asyncio import Redis
from taskiq import TaskiqMessage, TaskiqMiddleware
from taskiq_redis import RedisStreamBroker

from taskiq_durable.config import DurableConfig
from taskiq_durable.readers import ReaderPresence, UnreadQueues

__all__ = ["QUEUE", "STREAM", "RoutingMiddleware", "route", "stream_name"]

# The label a task or a kick names its queue with.
QUEUE = "queue"
# The label taskiq-redis reads in `kick()`: the stream the message is XADDed to.
STREAM = "queue_name"


def stream_name(config: DurableConfig, queue: str) -> str:
    """The stream of `queue`; an unknown name is refused, as no worker would ever read it."""
    if queue not in config.queues:
        raise ValueError(
            f"unknown queue {queue!r}: configured queues are {', '.join(config.queues)}"
        )
    return config.key("queue", queue)


def route(
    task_name: str, labels: Mapping[str, Any], routes: Mapping[str, str], default: str
) -> str:
    """The queue of a message without a `queue_name` label (rules 2-4 above)."""
    named = labels.get(QUEUE)
    if named is not None:
        return str(named)
    for pattern, queue in routes.items():
        if fnmatchcase(task_name, pattern):
            return queue
    return default


class RoutingMiddleware(TaskiqMiddleware):
    """Sets every sent message's stream; a bad queue name fails the `kiq()` that used it, a
    queue no live worker reads is warned about. In a worker child it announces the child as a
    reader of its queue (taskiq_durable.readers)."""

    def __init__(self, config: DurableConfig) -> None:
        super().__init__()
        self._config = config
        # DurableConfig refuses a route to an unknown queue: a typo stops every process at
        # start, not the first kick it routes.
        self._routes = dict(config.task_routes)
        self._queues = {stream_name(config, queue): queue for queue in config.queues}
        self._unread = UnreadQueues(config)
        self._presence: ReaderPresence | None = None
        self._client: Redis | None = None

    def _redis(self) -> Redis | None:
        """A client on the broker's own pool (no pool, no connection more); None for a broker
        that is not a Redis stream broker, to which queues mean nothing."""
        broker = self.broker
        if self._client is None and isinstance(broker, RedisStreamBroker):
            self._client = Redis(connection_pool=broker.connection_pool)
        return self._client

    async def startup(self) -> None:
        broker, redis = self.broker, self._redis()
        if redis is not None and isinstance(broker, RedisStreamBroker) and broker.is_worker_process:
            # The stream broker named this child's consumer before its middlewares start.
            self._presence = ReaderPresence(self._config, broker.consumer_name)
            await self._presence.start(redis)

    async def shutdown(self) -> None:
        redis = self._redis()
        if self._presence is not None and redis is not None:
            await self._presence.stop(redis)
            self._presence = None

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        explicit = message.labels.get(STREAM)
        if explicit is not None:
            if explicit not in self._queues:
                raise ValueError(f"unknown stream {explicit!r} in label {STREAM!r}")
            return message
        queue = route(message.task_name, message.labels, self._routes, self._config.default_queue)
        message.labels[STREAM] = stream_name(self._config, queue)
        return message

    async def post_send(self, message: TaskiqMessage) -> None:
        redis = self._redis()
        if redis is not None:
            stream = str(message.labels[STREAM])
            await self._unread.kicked(redis, self._queues[stream], stream)
