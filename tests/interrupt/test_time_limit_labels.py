"""`parse_limits`: the labels a task or a kick sets, and what is wrong with bad ones."""

import re
from typing import Any

import pytest
from taskiq import InMemoryBroker
from taskiq_durable.interrupt import Executions
from taskiq_durable.time_limits import TimeLimitMiddleware, TimeLimits, parse_limits


@pytest.mark.parametrize(
    ("labels", "limits"),
    [
        ({}, TimeLimits()),
        ({"time_limit": 5}, TimeLimits(hard=5.0)),
        ({"soft_time_limit": 2.5}, TimeLimits(soft=2.5)),
        ({"soft_time_limit": 1, "time_limit": 2}, TimeLimits(soft=1.0, hard=2.0)),
        ({"soft_time_limit": "0.5", "time_limit": "1.5"}, TimeLimits(soft=0.5, hard=1.5)),
        ({"time_limit": None, "other": "x"}, TimeLimits()),
    ],
)
def test_valid_labels(labels: dict[str, Any], limits: TimeLimits) -> None:
    assert parse_limits(labels) == limits


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"time_limit": 0}, "label time_limit=0: expected a positive number of seconds"),
        ({"time_limit": -1.0}, "label time_limit=-1.0: expected a positive number of seconds"),
        ({"time_limit": "inf"}, "label time_limit='inf': expected a positive number of seconds"),
        ({"time_limit": "soon"}, "label time_limit='soon': expected seconds as a number"),
        ({"time_limit": True}, "label time_limit=True: expected seconds as a number"),
        ({"soft_time_limit": [1]}, "label soft_time_limit=[1]: expected seconds as a number"),
        (
            {"soft_time_limit": 3, "time_limit": 3},
            "label soft_time_limit=3 must be below time_limit=3",
        ),
    ],
)
def test_invalid_labels(labels: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_limits(labels)


async def test_bad_limits_fail_in_the_caller_of_kiq_before_anything_is_queued() -> None:
    broker = InMemoryBroker().with_middlewares(TimeLimitMiddleware(Executions()))

    @broker.task(soft_time_limit=5, time_limit=2)
    async def limited() -> None: ...

    with pytest.raises(ValueError, match="soft_time_limit=5 must be below time_limit=2"):
        await limited.kiq()
    with pytest.raises(ValueError, match="expected a positive number of seconds"):
        await limited.kicker().with_labels(soft_time_limit=1, time_limit=-3).kiq()
