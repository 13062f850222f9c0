"""Celery's `expires`: a message not started by its deadline is skipped, never run.

The deadline travels as the `expires_at` label (Unix seconds, UTC), so any process that kicks
can set it and the worker needs no clock but its own. `taskiq_durable.DurableReceiver` checks it
before running the task and records the skip as a result with a `TaskExpired` error.
"""

from datetime import datetime, timedelta
from typing import Any

EXPIRES_AT = "expires_at"


class TaskExpired(Exception):
    """The message reached a worker after its `expires_at` deadline; the task did not run."""


def expires_at(expires: float | timedelta | datetime, now: datetime) -> float:
    """The deadline label for Celery-style `expires`: seconds from `now`, or an aware datetime."""
    if isinstance(expires, datetime):
        if expires.tzinfo is None:
            raise ValueError("expires must be a timezone-aware datetime")
        return expires.timestamp()
    seconds = expires.total_seconds() if isinstance(expires, timedelta) else float(expires)
    return now.timestamp() + seconds


def expiry_error(labels: dict[str, Any], now: float) -> TaskExpired | None:
    """The error to record when a message with these labels must be skipped at `now`."""
    raw = labels.get(EXPIRES_AT)
    if raw is None:
        return None
    deadline = float(raw)  # a string when it came through a taskiq-pipelines step
    if now < deadline:
        return None
    return TaskExpired(f"expired {now - deadline:.3f}s before it started (expires_at={deadline})")
