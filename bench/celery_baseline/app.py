"""The Celery application: Redis broker and result backend, tuned as the articles advise.

Settings come from the environment the harness sets (`BENCH_CELERY_*`), so the worker, beat,
the web app and the harness's driver all build the same app.
"""

import os

from celery import Celery

__all__ = ["QUEUE", "TICK_RUN_ID_ENV", "app"]

QUEUE = "bench_celery"
TICK_RUN_ID_ENV = "BENCH_CELERY_TICK_RUN_ID"

app = Celery(
    "bench_celery",
    broker=os.environ.get("BENCH_CELERY_REDIS_URL", "redis://127.0.0.1:6379/14"),
    backend=os.environ.get("BENCH_CELERY_REDIS_URL", "redis://127.0.0.1:6379/14"),
    include=["bench.celery_baseline.tasks"],
)
app.conf.update(
    task_default_queue=QUEUE,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    timezone="UTC",
    enable_utc=True,
    # No task is lost when a child dies (acks_late), and a child holds one task at a time.
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    result_expires=3600,
    broker_connection_retry_on_startup=True,
    # W5: the per-second schedule; beat only runs while the harness measures W5.
    beat_schedule={
        "bench-tick": {
            "task": "bench.celery.tick",
            "schedule": 1.0,
            "args": (os.environ.get(TICK_RUN_ID_ENV, "unset"),),
        }
    },
)
