"""Surviving Redis outages in long-running loops: bounded backoff, one log line per outage.

redis-py 8 raises on any broken or timed-out socket; taskiq lets an exception escape
`listen()` and the worker child dies into a restart loop. Our loops catch these instead.
"""

import logging
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from taskiq_durable.backoff import backoff_delay

# What a Redis outage looks like from redis-py (OSError covers refused/reset sockets).
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)

BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 5.0


class Outage:
    """Tracks one loop's consecutive failures; logs the start and the end of an outage once."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._logger = logger
        self._what = what
        self._failures = 0
        self._since = 0.0

    def failed(self, exc: BaseException) -> float:
        """Record a failure; returns how long to wait before trying again."""
        if self._failures == 0:
            self._since = time.monotonic()
            self._logger.warning("%s: Redis unavailable (%r); retrying", self._what, exc)
        self._failures += 1
        # The retry maths without jitter: 0.1, 0.2, 0.4 ... 5 s, the same after every outage.
        return backoff_delay(
            self._failures, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS, jitter=False
        )

    def succeeded(self) -> None:
        if self._failures:
            self._logger.warning(
                "%s: Redis back after %.1fs", self._what, time.monotonic() - self._since
            )
            self._failures = 0
