"""Redis clients of the library, and the guard for what exists only after a process's startup.

Nothing here connects: a redis-py pool connects on first use, on the loop of the process that
uses it, so a forked or spawned process never inherits a connection bound to another loop.
"""

from typing import TypeVar

from redis.asyncio import BlockingConnectionPool, Redis, Sentinel
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from taskiq_durable.config import DurableConfig

__all__ = ["create_pool", "create_redis", "stale_connection_retry", "started"]

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


class _SentinelBlockingPool(SentinelConnectionPool, BlockingConnectionPool):
    """redis-py's Sentinel pool with the blocking pool's wait for a free connection, so the
    broker and result backend keep taskiq-redis's pool semantics in either mode."""


def create_pool(config: DurableConfig) -> BlockingConnectionPool:
    """The connection pool every Redis client of the library is built on, for `config`'s mode.

    Single: the pool of `redis_url`. Sentinel: a pool that asks the sentinels for the current
    master on each new connection and drops a connection whose server became a replica (a
    failover); the retry below then reconnects to the new master. `redis_url` still gives the
    database, password and TLS of the master connections. Unbounded, as taskiq-redis's own.
    """
    if config.redis_mode == "single":
        return BlockingConnectionPool.from_url(
            config.redis_url, max_connections=None, retry=stale_connection_retry()
        )
    options = dict(BlockingConnectionPool.from_url(config.redis_url).connection_kwargs)
    for placement in ("host", "port"):  # the sentinels say where the master is
        options.pop(placement, None)
    # Sentinels carry no data: no database and not the master's password, only the timeout.
    # (redis-py's sentinel module has no annotations, hence the ignores.)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(config.redis_sentinels),
        sentinel_kwargs={"socket_timeout": options.get("socket_timeout") or 5.0},
    )
    return _SentinelBlockingPool(  # type: ignore[no-untyped-call]
        config.redis_sentinel_master,
        sentinel,
        is_master=True,
        max_connections=None,
        retry=stale_connection_retry(),
        **options,
    )


def create_redis(config: DurableConfig) -> Redis:
    """A Redis client on its own pool; the pool connects on first use, on the caller's loop."""
    return Redis(connection_pool=create_pool(config))
