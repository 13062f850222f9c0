"""Rate limits per task name, shared by every worker process through Redis.

`@broker.task(rate_limit="10/m")` spaces the starts of that task at least 6 s apart across all
workers (Celery's semantics, but global instead of per worker), so no window of a minute holds
more than 10 starts. A worker that receives the task early does not drop it: it reserves the
next free start slot and hands the message to delayed delivery until then.

The slot maths is `reserve_slot`; the Lua script is the same three lines run atomically.
"""

import re
from dataclasses import dataclass

from redis.asyncio import Redis

__all__ = ["RATE_LIMIT", "RATE_SLOT", "Rate", "RateLimiter", "parse_rate", "reserve_slot"]

RATE_LIMIT = "rate_limit"
# Set on a message whose start slot is already reserved, so it is not charged twice.
RATE_SLOT = "rate_slot"

_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*([smh]))?\s*$")


@dataclass(frozen=True, slots=True)
class Rate:
    limit: float
    period: float

    @property
    def interval(self) -> float:
        """Seconds between two starts."""
        return self.period / self.limit


def parse_rate(text: str) -> Rate:
    """`"10/m"`, `"2/s"`, `"100/h"`, or a bare number of starts per second."""
    match = _RATE.match(text)
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"invalid rate limit {text!r}: expected N/s, N/m or N/h with N > 0")
    return Rate(float(match[1]), _PERIODS[match[2] or "s"])


def reserve_slot(tat: float | None, now: float, interval: float) -> tuple[float, float]:
    """(start slot for this call, next theoretical arrival time to store)."""
    slot = now if tat is None else max(now, tat)
    return slot, slot + interval


# KEYS[1]: the task's slot key; ARGV: now, interval. Floats go back as strings: Redis would
# truncate a Lua number to an integer.
_RESERVE = """
local stored = redis.call('GET', KEYS[1])
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local slot = now
if stored then slot = math.max(now, tonumber(stored)) end
local tat = slot + interval
redis.call('SET', KEYS[1], string.format('%.6f', tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
return string.format('%.6f', slot)
"""


class RateLimiter:
    """Reserves start slots in Redis; one key per task name under `namespace`."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace
        self._script = redis.register_script(_RESERVE)

    async def reserve(self, task_name: str, rate: Rate, now: float) -> float:
        """The start slot for one run of `task_name` (>= now)."""
        slot = await self._script(
            keys=[f"{self._namespace}:{task_name}"], args=[repr(now), repr(rate.interval)]
        )
        return float(slot)
