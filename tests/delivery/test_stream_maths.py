"""The stream broker's arithmetic, as tables: timings, trim floor, recycling, the poison-message
cap (the reconnect backoff is the retry maths: tests/delivery/test_backoff.py)."""

import pytest
from taskiq_durable.streams.config import heartbeat_interval, read_block_ms, recovery_bound
from taskiq_durable.streams.ids import next_id
from taskiq_durable.streams.poison import poison_error
from taskiq_durable.streams.recycle import MIB, RecyclePolicy
from taskiq_durable.streams.trim import trim_floor


@pytest.mark.parametrize(("redelivery_timeout", "expected"), [(30.0, 10.0), (3.0, 1.0), (0.3, 0.1)])
def test_three_heartbeats_per_redelivery_timeout(
    redelivery_timeout: float, expected: float
) -> None:
    assert heartbeat_interval(redelivery_timeout) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("reclaim_interval", "expected_ms"),
    [(5.0, 2000), (2.0, 2000), (0.5, 500), (0.0001, 1)],
)
def test_reads_block_until_the_next_reclaim_and_under_the_socket_timeout(
    reclaim_interval: float, expected_ms: int
) -> None:
    assert read_block_ms(reclaim_interval) == expected_ms


@pytest.mark.parametrize(
    ("redelivery_timeout", "reclaim_interval", "expected"), [(30.0, 5.0, 35.0), (3.0, 0.5, 3.5)]
)
def test_recovery_bound(
    redelivery_timeout: float, reclaim_interval: float, expected: float
) -> None:
    assert recovery_bound(redelivery_timeout, reclaim_interval) == expected


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ([], None),  # no group: nobody has read anything
        ([("0-0", None)], None),  # nothing delivered yet
        ([("5-0", None)], "5-1"),  # all delivered and acked: keep only newer entries
        ([("5-3", "2-0")], "2-0"),  # the oldest pending entry and everything after it stay
        ([("9-0", None), ("4-0", None)], "4-1"),  # a slower group holds the floor down
        ([("9-0", "7-2"), ("8-0", "3-1")], "3-1"),
        ([("10-0", None), ("9-5", None)], "9-6"),  # ids compare as numbers, not strings
    ],
)
def test_trim_floor_never_passes_pending_or_undelivered_entries(
    groups: list[tuple[str, str | None]], expected: str | None
) -> None:
    assert trim_floor(groups) == expected


def test_next_id_increments_the_sequence() -> None:
    assert next_id("1700000000000-41") == "1700000000000-42"


@pytest.mark.parametrize(
    ("policy", "fetched", "rss_mb", "recycles"),
    [
        (RecyclePolicy(0, 0), 10_000, 10_000, False),  # no limits
        (RecyclePolicy(3, 0), 2, 10_000, False),
        (RecyclePolicy(3, 0), 3, 0, True),
        (RecyclePolicy(0, 200), 10_000, 200, False),  # at the limit is still fine
        (RecyclePolicy(0, 200), 1, 201, True),
        (RecyclePolicy(0, 200), 0, 500, False),  # a child runs one task before memory counts
        (RecyclePolicy(5, 200), 5, 201, True),
    ],
)
def test_recycle_policy(policy: RecyclePolicy, fetched: int, rss_mb: int, recycles: bool) -> None:
    reason = policy.reason(fetched=fetched, rss_bytes=rss_mb * MIB)
    assert (reason is not None) is recycles


@pytest.mark.parametrize(
    ("times_delivered", "max_deliveries", "expected"),
    [
        (1, 5, None),
        (5, 5, None),  # the cap is how often a message may be handed to a worker to run
        (6, 5, "poison: delivered 6 times without completing (MAX_DELIVERIES=5)"),
        (2, 1, "poison: delivered 2 times without completing (MAX_DELIVERIES=1)"),
        (1, 1, None),
        (1000, 0, None),  # 0: no cap, taskiq-redis's redeliver-for-ever
    ],
)
def test_a_message_delivered_more_than_the_cap_is_poison(
    times_delivered: int, max_deliveries: int, expected: str | None
) -> None:
    assert poison_error(times_delivered, max_deliveries) == expected
