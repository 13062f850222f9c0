"""Rate-limit maths as tables; the Lua script must agree with the pure function on each."""

import pytest
from redis.asyncio import Redis

from core.settings import Settings
from tasks.rate_limit import Rate, RateLimiter, parse_rate, reserve_slot


@pytest.mark.parametrize(
    ("text", "rate", "interval"),
    [
        ("10/m", Rate(10, 60), 6.0),
        ("2/s", Rate(2, 1), 0.5),
        ("100/h", Rate(100, 3600), 36.0),
        ("5", Rate(5, 1), 0.2),
        (" 120 / m ", Rate(120, 60), 0.5),
        ("0.5/s", Rate(0.5, 1), 2.0),
    ],
)
def test_parse_rate(text: str, rate: Rate, interval: float) -> None:
    assert (parse_rate(text), parse_rate(text).interval) == (rate, interval)


@pytest.mark.parametrize("text", ["", "10/d", "ten/m", "0/m", "-1/s", "10/m/s"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="invalid rate limit"):
        parse_rate(text)


# (now, slot it gets) for calls in order, interval 6 s (10/m): a burst is spread one interval
# apart, and an idle gap longer than the interval gives no credit.
SEQUENCE = [
    (100.0, 100.0),
    (100.0, 106.0),
    (101.0, 112.0),
    (112.5, 118.0),
    (130.0, 130.0),
    (130.1, 136.0),
]


def test_reserve_slot_sequence() -> None:
    tat: float | None = None
    slots = []
    for now, _ in SEQUENCE:
        slot, tat = reserve_slot(tat, now, 6.0)
        slots.append((now, slot))
    assert slots == SEQUENCE


async def test_lua_reserves_the_same_slots(redis_client: Redis, settings: Settings) -> None:
    limiter = RateLimiter(redis_client, settings.key("rate"))
    rate = parse_rate("10/m")
    slots = [(now, await limiter.reserve("t", rate, now)) for now, _ in SEQUENCE]
    assert slots == SEQUENCE
