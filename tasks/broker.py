"""The broker every process shares: web and scheduler kick through it, workers listen on it.

Building it opens nothing: redis-py pools connect on first use, on the loop of the process that
uses them. Task modules register on `broker` at import, which is why it is a module attribute.
"""

from taskiq import AsyncBroker, TaskiqEvents, async_shared_broker
from taskiq_pipelines import PipelineMiddleware

from core.resources import stale_connection_retry
from core.settings import Settings, get_settings
from tasks import runtime
from tasks.canvas.middleware import CanvasMiddleware
from tasks.delayed import DelayedDelivery
from tasks.interrupt import Executions
from tasks.lifecycle import LifecycleMiddleware
from tasks.queues import RoutingMiddleware, stream_name
from tasks.result_backend import ResultBackend
from tasks.retry import RetryMiddleware
from tasks.revoke_middleware import RevokeMiddleware
from tasks.signals import TaskSignals
from tasks.streams import DeliveryConfig, StreamBroker
from tasks.time_limits import TimeLimitMiddleware


def build_broker(settings: Settings) -> AsyncBroker:
    # JSON, one Redis client per process, batched reads for tasks/results.py's waiter.
    results = ResultBackend(
        settings.redis_url,
        result_ex_time=settings.result_ttl_seconds,
        prefix_str=settings.key("result"),
        retry=stale_connection_retry(),  # the first call after a Redis restart must not fail
    )
    # Reclaim on a timer, heartbeats, bounded prefetch, hand-back, safe trimming, recycling:
    # see tasks/streams/ and docs/delivery.md.
    broker = StreamBroker(
        settings.redis_url,
        # The one stream a worker reads (WORKER_QUEUE); kicks go where tasks/queues.py routes.
        queue_name=stream_name(settings, settings.worker_queue),
        consumer_group_name=settings.key("workers"),
        delivery=DeliveryConfig.from_settings(settings),
    ).with_result_backend(results)
    # Signals first: its post_execute runs last, after every on_error settled the outcome
    # (docs/patterns/signals.md). Routing sets each sent message's stream.
    broker.add_middlewares(TaskSignals(), RoutingMiddleware(settings))
    # Delayed delivery, retries with backoff, dead letters: docs/delivery.md. Before revoke,
    # time limits and the result middlewares, so that Retry's on_error (run in reverse order)
    # sees the error they settled, and a retried attempt's NoResultError keeps their post_save
    # hooks (link_error, chains) quiet until the last attempt.
    delayed = DelayedDelivery(settings, stream=broker.queue_name)
    broker.add_middlewares(delayed, RetryMiddleware(delayed))
    # Revoke and time limits share the registry of running executions (tasks/interrupt.py).
    # Revoke early: a revoked message is recognised before later middlewares act on it. Time
    # limits last: their clock starts closest to the task body. Both raise inside the body
    # (TaskRevoked, TimeLimitExceeded), so every on_error sees that exception, in any order.
    executions = Executions()
    broker.add_middlewares(RevokeMiddleware(settings, executions))
    # chain (taskiq-pipelines), STARTED marker (opt-in) + ignore_result, link/link_error + chord:
    # docs/patterns/results.md and docs/patterns/canvas.md.
    broker.add_middlewares(PipelineMiddleware(), LifecycleMiddleware(settings), CanvasMiddleware())
    broker.add_middlewares(TimeLimitMiddleware(executions))
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, runtime.worker_startup)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, runtime.worker_shutdown)
    return broker


broker = build_broker(get_settings())
# `shared_task`s (library code that can't import this module) are sent through it.
async_shared_broker.default_broker(broker)
