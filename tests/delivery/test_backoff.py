"""The retry maths, as tables: delays, the jitter range, policies read from labels, and the
Redis-outage loops' pacing, which is the same function."""

import logging

import pytest
from taskiq_durable.backoff import RetryPolicy, backoff_delay, policy_from_labels
from taskiq_durable.streams.reconnect import Outage


def top(low: float, high: float) -> float:
    """A `uniform` that always draws the upper bound."""
    return high


@pytest.mark.parametrize(
    ("retry", "base", "cap", "expected"),
    [
        (1, 1.0, 60.0, 1.0),
        (2, 1.0, 60.0, 2.0),
        (3, 1.0, 60.0, 4.0),
        (6, 1.0, 60.0, 32.0),
        (7, 1.0, 60.0, 60.0),  # 64 capped
        (3, 0.5, 60.0, 2.0),
        (4, 2.0, 10.0, 10.0),
        (1, 0.0, 60.0, 0.0),
        (1, 5.0, 1.0, 1.0),  # the cap bounds even the first delay
        (1000, 1.0, 300.0, 300.0),  # no float overflow
    ],
)
def test_delay_doubles_from_base_up_to_cap(
    retry: int, base: float, cap: float, expected: float
) -> None:
    assert backoff_delay(retry, base=base, cap=cap, jitter=False) == expected


@pytest.mark.parametrize(
    ("retry", "base", "cap", "bounds"),
    [(1, 1.0, 60.0, (0.0, 1.0)), (4, 1.0, 60.0, (0.0, 8.0)), (9, 1.0, 60.0, (0.0, 60.0))],
)
def test_full_jitter_draws_from_zero_to_the_capped_delay(
    retry: int, base: float, cap: float, bounds: tuple[float, float]
) -> None:
    drawn: list[tuple[float, float]] = []

    def record(low: float, high: float) -> float:
        drawn.append((low, high))
        return high / 2

    delay = backoff_delay(retry, base=base, cap=cap, jitter=True, uniform=record)
    assert (drawn, delay) == ([bounds], bounds[1] / 2)


def test_an_outage_waits_longer_after_each_failure_up_to_five_seconds() -> None:
    outage = Outage(logging.getLogger("test"), "test")
    waits = [outage.failed(ConnectionError()) for _ in range(8)]
    assert waits == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])
    outage.succeeded()  # the next outage starts again from the base
    assert outage.failed(ConnectionError()) == pytest.approx(0.1)


def test_retry_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        backoff_delay(0, base=1, cap=1, jitter=False, uniform=top)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({}, RetryPolicy()),
        ({"max_attempts": 5}, RetryPolicy(max_attempts=5)),
        # As they arrive when a label lost its type (a string on the wire).
        (
            {"max_attempts": "3", "retry_base": "0.5", "retry_cap": "10", "retry_jitter": "False"},
            RetryPolicy(max_attempts=3, base=0.5, cap=10.0, jitter=False),
        ),
        ({"retry_jitter": "true"}, RetryPolicy(jitter=True)),
        ({"retry_jitter": 0}, RetryPolicy(jitter=False)),
        # The one boolean reading of every label (taskiq_durable.labels).
        ({"retry_jitter": "off"}, RetryPolicy(jitter=False)),
        ({"retry_jitter": " YES "}, RetryPolicy(jitter=True)),
    ],
)
def test_policy_from_labels(labels: dict[str, object], expected: RetryPolicy) -> None:
    assert policy_from_labels(labels) == expected


@pytest.mark.parametrize(
    "labels",
    [
        {"max_attempts": "many"},
        {"max_attempts": 0},
        {"retry_base": -1},
        {"retry_cap": "x"},
        {"retry_jitter": "maybe"},
        {"retry_jitter": 2},
    ],
)
def test_unreadable_policies_are_refused(labels: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - int()/float() and our check word it differently
        policy_from_labels(labels)


def test_policy_retries_only_the_listed_exceptions() -> None:
    policy = policy_from_labels({}, (ConnectionError,))
    assert [policy.retries_on(e) for e in (ConnectionResetError(), ValueError())] == [True, False]
