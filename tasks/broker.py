"""The broker every process shares: web and scheduler kick through it, workers listen on it.

It is taskiq-durable's broker (taskiq-durable/), built from this stack's settings, with dead
letters kept in PostgreSQL and each worker child's resources opened by `tasks.runtime`.
Building it opens nothing: redis-py pools connect on first use, on the loop of the process that
uses them. Task modules register on `broker` at import, which is why it is a module attribute,
and why this module, the worker's and the scheduler's entry point, reads the settings.
"""

from taskiq import TaskiqEvents, async_shared_broker
from taskiq_durable import DurableBroker, build_broker
from taskiq_durable.dead_letters.sql import SqlDeadLetterStore

from core.settings import Settings, get_settings
from tasks.runtime import WorkerRuntime


def build_stack_broker(settings: Settings) -> DurableBroker:
    dead_letters = SqlDeadLetterStore()
    broker = build_broker(settings.durable(), dead_letters=dead_letters)
    runtime = WorkerRuntime(settings, dead_letters, broker)
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, runtime.startup)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, runtime.shutdown)
    return broker


settings = get_settings()
broker = build_stack_broker(settings)
# `shared_task`s (library code that can't import this module) are sent through it.
async_shared_broker.default_broker(broker)
