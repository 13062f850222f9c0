"""Redis clients of the library, and the guard for what exists only after a process's startup.

Nothing here connects: a redis-py pool connects on first use, on the loop of the process that
uses it, so a forked or spawned process never inherits a connection bound to another loop.
"""

from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

__all__ = ["create_redis", "stale_connection_retry", "started"]

T = TypeVar("T")


def started(resource: T | None, what: str) -> T:
    """`resource`, built by its process's startup hook; a clear error when used before it."""
    if resource is None:
        raise RuntimeError(f"{what} is used before its process's startup hook ran")
    return resource


def stale_connection_retry() -> Retry:
    """For redis-py pools: retry a command whose pooled connection died with a Redis restart.

    redis-py 8 connections do not retry at all, so the first command on each stale connection
    after a restart fails. Only broken connections are retried: a retried timeout could run a
    write such as XADD twice.
    """
    return Retry(ExponentialBackoff(cap=1.0, base=0.05), 3, (RedisConnectionError,))


def create_redis(url: str) -> Redis:
    """A Redis client; its pool connects on first use, on the caller's loop."""
    return Redis.from_url(url, retry=stale_connection_retry())
