"""Retry policy and exponential backoff: pure functions, no I/O.

A task opts in with labels (all optional except `max_attempts`):

    @broker.task(max_attempts=5, retry_base=1.0, retry_cap=60.0, retry_jitter=True,
                 types_of_exceptions=(ConnectionError,))

The delay before retry n (n = failures so far, 1 for the first retry) is
`min(cap, base * 2 ** (n - 1))`; with full jitter it is drawn uniformly from [0, that]. The
same function paces the Redis-outage loops (`taskiq_durable.streams.reconnect`), without jitter.
"""

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from taskiq_durable.labels import label_flag

__all__ = ["RetryPolicy", "backoff_delay", "policy_from_labels"]

# Label names; `types_of_exceptions` is taskiq's own label and never leaves the process.
MAX_ATTEMPTS = "max_attempts"
BASE = "retry_base"
CAP = "retry_cap"
JITTER = "retry_jitter"
RETRIES = "retries"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 1
    base: float = 1.0
    cap: float = 60.0
    jitter: bool = True
    on: tuple[type[BaseException], ...] = (Exception,)

    def retries_on(self, exc: BaseException) -> bool:
        return isinstance(exc, self.on)


def backoff_delay(
    retry: int,
    *,
    base: float,
    cap: float,
    jitter: bool,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait before retry number `retry` (1-based)."""
    if retry < 1:
        raise ValueError(f"retry numbers start at 1, got {retry}")
    # min() before the power would overflow: 2**1100 is fine as an int, not as a float.
    ceiling = cap if retry > 64 else min(cap, base * 2 ** (retry - 1))
    return uniform(0.0, ceiling) if jitter else ceiling


def policy_from_labels(
    labels: Mapping[str, Any], exceptions: tuple[type[BaseException], ...] | None = None
) -> RetryPolicy:
    """The policy a message's labels describe; `ValueError` on values that are not numbers."""
    defaults = RetryPolicy()
    policy = RetryPolicy(
        max_attempts=int(labels.get(MAX_ATTEMPTS, defaults.max_attempts)),
        base=float(labels.get(BASE, defaults.base)),
        cap=float(labels.get(CAP, defaults.cap)),
        jitter=label_flag(labels, JITTER, defaults.jitter),
        on=exceptions or defaults.on,
    )
    if policy.max_attempts < 1 or policy.base < 0 or policy.cap < 0:
        raise ValueError(f"invalid retry policy {policy}")
    return policy
