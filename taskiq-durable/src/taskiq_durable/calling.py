"""Celery's `apply_async(args, kwargs, countdown=, eta=, expires=, queue=, task_id=, link=,
link_error=)` on taskiq.

    await apply_async(resize, ("a.png",), {"size": 64}, countdown=5, expires=30, link=sig(store))

is `resize.kicker().with_task_id(...).with_labels(...).kiq("a.png", size=64)` with the labels
below; `countdown`/`eta` go through delayed delivery (`taskiq_durable.delayed.later`).
`delay(*a, **kw)` is plain `task.kiq(*a, **kw)`.

Celery's `priority=` is refused with a `ValueError` that says what to do instead: Redis
streams have no message priorities, and a priority that silently did nothing would let urgent
work wait behind a backlog. Urgent work gets its own queue and workers (docs/migration.md,
"Routing and priority").
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, AsyncTaskiqTask

from taskiq_durable.canvas.link import LINK, LINK_ERROR
from taskiq_durable.canvas.signature import Signature
from taskiq_durable.config import DurableConfig
from taskiq_durable.delayed import later
from taskiq_durable.durable_broker import durable_broker
from taskiq_durable.expiry import EXPIRES_AT, expires_at
from taskiq_durable.queues import STREAM, stream_name

PRIORITY_REFUSED = (
    "Celery's priority is not supported: Redis streams deliver in order. Send urgent work to "
    "its own queue (apply_async(queue='urgent'), a queue listed in QUEUES) read by its own "
    "workers; see docs/migration.md, 'Routing and priority'"
)


def kick_labels(
    *,
    now: datetime,
    config: DurableConfig,
    expires: float | timedelta | datetime | None = None,
    queue: str | None = None,
    link: Signature | None = None,
    link_error: Signature | None = None,
) -> dict[str, str | float]:
    """The message labels that carry `apply_async`'s options."""
    labels: dict[str, str | float] = {}
    if expires is not None:
        labels[EXPIRES_AT] = expires_at(expires, now)
    if queue is not None:
        # taskiq-redis XADDs to the `queue_name` label's stream (taskiq_durable/queues.py).
        labels[STREAM] = stream_name(config, queue)
    if link is not None:
        labels[LINK] = link.to_json()
    if link_error is not None:
        labels[LINK_ERROR] = link_error.to_json()
    return labels


async def apply_async(
    task: AsyncTaskiqDecoratedTask[Any, Any],
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    task_id: str | None = None,
    countdown: float | None = None,
    eta: datetime | None = None,
    expires: float | timedelta | datetime | None = None,
    queue: str | None = None,
    link: Signature | None = None,
    link_error: Signature | None = None,
    broker: AsyncBroker | None = None,
    priority: int | None = None,
) -> AsyncTaskiqTask[Any]:
    """Kick `task` through `broker` (default: the one it is registered on); queue names are
    checked against that broker's configuration. `priority` is refused (module docstring)."""
    if priority is not None:
        raise ValueError(f"priority={priority!r}: {PRIORITY_REFUSED}")
    labels = kick_labels(
        now=datetime.now(UTC),
        config=durable_broker(broker or task.broker).config,
        expires=expires,
        queue=queue,
        link=link,
        link_error=link_error,
    )
    kicker = task.kicker().with_labels(**labels)
    if broker is not None:
        kicker = kicker.with_broker(broker)
    if task_id is not None:
        kicker = kicker.with_task_id(task_id)
    if countdown is not None or eta is not None:
        kicker = later(kicker, countdown=countdown, eta=eta)
    return await kicker.kiq(*args, **(kwargs or {}))
