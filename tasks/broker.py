"""The broker every process shares: web and scheduler kick through it, workers listen on it.

Building it opens nothing: redis-py pools connect on first use, on the loop of the process that
uses them. Task modules register on `broker` at import, which is why it is a module attribute.
"""

from typing import Any

from taskiq import AsyncBroker, TaskiqEvents
from taskiq.serializers import JSONSerializer
from taskiq_pipelines import PipelineMiddleware
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from core.settings import Settings, get_settings
from tasks import runtime
from tasks.canvas.middleware import CanvasMiddleware
from tasks.lifecycle import LifecycleMiddleware


def build_broker(settings: Settings) -> AsyncBroker:
    results: RedisAsyncResultBackend[Any] = RedisAsyncResultBackend(
        settings.redis_url,
        result_ex_time=settings.result_ttl_seconds,
        serializer=JSONSerializer(),  # taskiq-redis defaults to pickle
        prefix_str=settings.key("result"),
    )
    broker = RedisStreamBroker(
        settings.redis_url,
        queue_name=settings.key("queue", "default"),
        consumer_group_name=settings.key("workers"),
        # "0", not "$": the group is created by whichever process starts first, and a message
        # kicked by the web before any worker ever ran must still be delivered.
        consumer_id="0",
        # One XREADGROUP takes at most what this child can run at once (taskiq-redis: 100).
        xread_count=settings.worker_concurrency,
    ).with_result_backend(results)
    # chain (taskiq-pipelines), STARTED marker + ignore_result, link/link_error + chord:
    # docs/patterns/results.md and docs/patterns/canvas.md.
    broker.add_middlewares(PipelineMiddleware(), LifecycleMiddleware(), CanvasMiddleware())
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, runtime.worker_startup)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, runtime.worker_shutdown)
    return broker


broker = build_broker(get_settings())
