"""What `--fix` writes for: this stack's broker, helper imports, queues and Celery's defaults.

The label names are the ones the stack's middlewares read (taskiq_durable.backoff,
taskiq_durable.retry, taskiq_durable.time_limits, taskiq_durable.queues, taskiq_durable.rate_limit,
taskiq_durable.lifecycle); the checker
never imports them, so they are spelled out here, in one place."""

import ast
from dataclasses import dataclass

__all__ = [
    "APPLY_ASYNC",
    "CELERY_BACKOFF_MAX",
    "CELERY_MAX_RETRIES",
    "CELERY_RETRY_DELAY",
    "CONTEXT",
    "DEFAULT_BROKER_IMPORT",
    "DEPENDS",
    "QUEUES",
    "RETRIES",
    "Import",
    "Label",
    "queue_todo",
]

DEFAULT_BROKER_IMPORT = "tasks.broker:broker"
# The stack's QUEUES setting by default; a kick naming a queue it does not list is refused.
QUEUES = ("default", "urgent")

# Celery's defaults, written out where the stack's differ (its retry_cap is 60 s, for one).
CELERY_MAX_RETRIES = 3
CELERY_RETRY_DELAY = "180"
CELERY_BACKOFF_MAX = "600"


@dataclass(frozen=True, slots=True)
class Import:
    """`from module import name`, added to a rewritten file that uses `name`."""

    module: str
    name: str


CONTEXT = Import("taskiq", "Context")
DEPENDS = Import("taskiq", "TaskiqDepends")
RETRIES = Import("taskiq_durable.retry", "Retries")
APPLY_ASYNC = Import("taskiq_durable.calling", "apply_async")


@dataclass(frozen=True, slots=True)
class Label:
    """`name=value` in `@broker.task(...)`, with an optional comment saying why that value."""

    text: str
    comment: str = ""


def queue_todo(text: str) -> str | None:
    """The TODO for a `queue` value this stack does not have (None when it does)."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = None
    if value in QUEUES:
        return None
    return (
        f"queue={text} is not in the QUEUES setting's default ({','.join(QUEUES)}) and a kick "
        "to an unlisted queue is refused: add it to QUEUES with a worker (WORKER_QUEUE), "
        "or pick one"
    )
