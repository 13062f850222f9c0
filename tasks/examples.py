"""Celery's `bind=True` + `self.request`, and `shared_task`, written the taskiq way.

    @app.task(bind=True, max_retries=2)          @broker.task(max_attempts=3, ...)
    def request_info(self):                      async def request_info(
        self.request.id                              context: Context = TaskiqDepends(),
        self.request.retries                         retry: Retries = TaskiqDepends(),
        self.request.delivery_info               ): context.message.task_id, retry.retries,
                                                    context.message.labels["queue_name"]

A task asks for what Celery puts on `self`: `Context` (the message being run: id, name,
labels, arguments; and the broker) and `Retries` (taskiq_durable.retry: attempt number and budget).
Library code that must not import this app's broker uses `shared_task`; tasks/broker.py makes
our broker the one shared tasks are sent through, and a worker runs them once imported.
"""

from typing import Any

from taskiq import Context, TaskiqDepends
from taskiq.brokers.shared_broker import shared_task
from taskiq_durable.queues import STREAM
from taskiq_durable.retry import Retries

from tasks.broker import broker

__all__ = ["request_info", "shared_request_info"]


def describe(context: Context) -> dict[str, Any]:
    """What a Celery task reads from `self.request`, from the running message."""
    message = context.message
    return {
        "id": message.task_id,
        "task": message.task_name,
        "queue": message.labels.get(STREAM),  # Celery's delivery_info["routing_key"]
        "labels": message.labels,
        "args": message.args,
        "kwargs": message.kwargs,
    }


@broker.task(
    task_name="examples.request_info",
    max_attempts=3,
    retry_base=0.1,
    retry_jitter=False,
    schedulable=True,  # harmless, and its typed argument is checked (tasks/policy.py)
)
async def request_info(
    fail_attempts: int = 0,
    context: Context = TaskiqDepends(),
    retry: Retries = TaskiqDepends(),
) -> dict[str, Any]:
    """The request as this attempt sees it; the first `fail_attempts` attempts raise, which
    shows `retries` counting up under the same task id (Celery's `self.retry()`)."""
    if retry.attempt <= fail_attempts:
        raise RuntimeError(f"attempt {retry.attempt} of {retry.max_attempts} fails on request")
    return describe(context) | {"retries": retry.retries, "max_attempts": retry.max_attempts}


@shared_task(task_name="examples.shared_request_info")
async def shared_request_info(context: Context = TaskiqDepends()) -> dict[str, Any]:
    """A task defined without a broker, as a library would: `.kiq()` sends it through the
    broker tasks/broker.py registered as the shared default."""
    return describe(context)
