"""Rate-limit maths as tables; the Lua script must agree with the pure function on each."""

import asyncio
import itertools
from typing import Any

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from taskiq import AsyncBroker
from taskiq_durable.rate_limit import Rate, RateLimiter, parse_rate, reserve_slot

from core.settings import Settings
from tests.conftest import StartProcess
from tests.delivery.retry_support import WORKER_ENV, retry_worker_command, starts
from tests.delivery.tasks_for_retries import limited, stamp
from tests.support.processes import wait_until


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


LIMITED = 12
INTERVAL = parse_rate("120/m").interval  # tests.delivery.limited's label


async def test_rate_limit_is_shared_by_two_worker_processes(
    settings: Settings, start: StartProcess, client_broker: AsyncBroker, sync_redis: SyncRedis
) -> None:
    start("worker", retry_worker_command(), WORKER_PROCESSES="2", **WORKER_ENV)
    await stamp.kicker().with_broker(client_broker).kiq("warm-up")
    wait_until(lambda: starts(sync_redis, settings, "warm-up"), within=60, what="worker up")
    kicker = limited.kicker().with_broker(client_broker)
    await asyncio.gather(*(kicker.kiq(n) for n in range(LIMITED)))

    def runs() -> list[list[dict[str, Any]]]:
        return [starts(sync_redis, settings, f"limited:{n}") for n in range(LIMITED)]

    wait_until(lambda: all(runs()), within=30, what="every limited task")
    await asyncio.sleep(INTERVAL)  # a duplicate would come within one slot
    assert [len(r) for r in runs()] == [1] * LIMITED  # each once: delayed, never dropped
    started = sorted(r[0]["t"] for r in runs())
    # The limiter's decisions: every parked start got its own slot, one interval apart.
    slots = sorted(r[0]["rate_slot"] for r in runs() if r[0]["rate_slot"] is not None)
    assert len(slots) >= LIMITED - 2  # all but the first one or two arrived too early
    assert all(b - a >= INTERVAL - 1e-6 for a, b in itertools.pairwise(slots)), slots
    assert all(r[0]["t"] >= r[0]["rate_slot"] for r in runs() if r[0]["rate_slot"])
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(started)]
    print(f"\nrate 120/m over 2 processes: start gaps {gaps}")
    # Measured starts carry delivery jitter (a parked one may start up to the poll late), so
    # the check on them is "no burst": never two starts within half an interval.
    assert min(gaps) >= INTERVAL / 2, gaps
    # ...and so no window of a minute ever holds more than 120 (here: all 12 in ~6 s).
    assert len(started) <= 120
