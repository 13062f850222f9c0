"""Selecting the Redis topology: settings parse and refuse clearly, and the pool factory gives
every client the mode's pool."""

import pytest
from pydantic import ValidationError
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.sentinel import SentinelConnectionPool
from taskiq_durable import DurableConfig
from taskiq_durable.connections import create_pool

from core.settings import Settings


def test_sentinels_are_parsed_from_host_port_pairs() -> None:
    settings = Settings(
        _env_file=None,
        redis_mode="sentinel",
        redis_sentinels=" s1:26379, 10.0.0.2:26380 ,",
    )
    assert settings.durable().redis_sentinels == (("s1", 26379), ("10.0.0.2", 26380))


@pytest.mark.parametrize("bad", ["s1", "s1:", ":26379", "s1:port"])
def test_a_sentinel_that_is_not_host_port_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="is not host:port"):
        Settings(_env_file=None, redis_mode="sentinel", redis_sentinels=bad)


def test_sentinel_mode_without_sentinels_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs REDIS_SENTINELS"):
        Settings(_env_file=None, redis_mode="sentinel")
    with pytest.raises(ValueError, match="at least one"):
        DurableConfig(redis_mode="sentinel")


def test_an_unknown_mode_and_a_negative_replica_count_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, redis_mode="cluster")
    with pytest.raises(ValueError, match="unknown redis_mode"):
        DurableConfig(redis_mode="cluster")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="redis_kick_replicas"):
        DurableConfig(redis_kick_replicas=-1)


def test_single_mode_pools_the_url_and_sentinel_mode_asks_the_sentinels() -> None:
    single = create_pool(DurableConfig(redis_url="redis://r1:6390/3"))
    assert type(single) is BlockingConnectionPool
    assert (single.connection_kwargs["host"], single.connection_kwargs["port"]) == ("r1", 6390)

    sentinel = create_pool(
        DurableConfig(
            redis_url="redis://:secret@ignored:1/4",
            redis_mode="sentinel",
            redis_sentinels=(("s1", 26379),),
            redis_sentinel_master="orders",
        )
    )
    # Both pool kinds: the broker and result backend keep the blocking pool's semantics.
    assert isinstance(sentinel, SentinelConnectionPool)
    assert isinstance(sentinel, BlockingConnectionPool)
    kwargs = sentinel.connection_kwargs
    assert "host" not in kwargs  # the sentinels say where the master is
    assert (kwargs["db"], kwargs["password"]) == (4, "secret")
    assert sentinel.service_name == "orders"
