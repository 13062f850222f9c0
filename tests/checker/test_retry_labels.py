"""Celery retry options → the stack's retry labels (taskiq_durable.backoff), as a table."""

import pytest

from migration_checker.fix.retry_labels import ManualRetries, retry_labels

DEFAULT_ATTEMPTS = "max_attempts=4"
FIXED_180 = ["retry_base=180", "retry_cap=180", "retry_jitter=False"]


@pytest.mark.parametrize(
    ("options", "labels", "todo"),
    [
        ({}, [], None),
        ({"time_limit": "30"}, [], None),
        # Celery's max_retries counts retries; max_attempts counts the first run too.
        # Without autoretry_for or a self.retry() call Celery never retried the task.
        ({"max_retries": "3"}, ["max_attempts=1"], None),
        ({"max_retries": "N"}, ["max_attempts=1"], None),
        ({"retry_backoff": "True"}, ["max_attempts=1"], None),
        # autoretry_for alone: Celery's default max_retries=3 and fixed 180 s delay.
        (
            {"autoretry_for": "(IOError,)"},
            [DEFAULT_ATTEMPTS, "types_of_exceptions=(IOError,)", *FIXED_180],
            None,
        ),
        (
            {"autoretry_for": "(IOError,)", "default_retry_delay": "5"},
            [
                DEFAULT_ATTEMPTS,
                "types_of_exceptions=(IOError,)",
                "retry_base=5",
                "retry_cap=5",
                "retry_jitter=False",
            ],
            None,
        ),
        # Backoff: factor int(max(1, retry_backoff)), cap retry_backoff_max (Celery's 600).
        (
            {"autoretry_for": "(E,)", "retry_backoff": "True"},
            [DEFAULT_ATTEMPTS, "types_of_exceptions=(E,)", "retry_base=1", "retry_cap=600"],
            None,
        ),
        (
            {
                "autoretry_for": "(E,)",
                "retry_backoff": "2.7",
                "retry_backoff_max": "60",
                "retry_jitter": "False",
            },
            [
                DEFAULT_ATTEMPTS,
                "types_of_exceptions=(E,)",
                "retry_base=2",
                "retry_cap=60",
                "retry_jitter=False",
            ],
            None,
        ),
        (
            {"autoretry_for": "(E,)", "retry_backoff": "0.5"},
            [DEFAULT_ATTEMPTS, "types_of_exceptions=(E,)", "retry_base=1", "retry_cap=600"],
            None,
        ),
        (
            {"autoretry_for": "(E,)", "retry_backoff": "False"},
            [DEFAULT_ATTEMPTS, "types_of_exceptions=(E,)", *FIXED_180],
            None,
        ),
        (
            {"autoretry_for": "(E,)", "retry_backoff": "True", "default_retry_delay": "2"},
            [DEFAULT_ATTEMPTS, "types_of_exceptions=(E,)", "retry_base=1", "retry_cap=600"],
            "only self.retry() used it",
        ),
        (
            {"autoretry_for": "(E,)", "retry_backoff": "BACKOFF"},
            [DEFAULT_ATTEMPTS, "types_of_exceptions=(E,)"],
            "set retry_base by hand",
        ),
        # retry_kwargs is what autoretry passes to self.retry(): max_retries and a fixed delay.
        (
            {"autoretry_for": "(E,)", "retry_kwargs": "{'max_retries': 5}"},
            ["max_attempts=6", "types_of_exceptions=(E,)", *FIXED_180],
            None,
        ),
        (
            {"autoretry_for": "(E,)", "retry_kwargs": "{'max_retries': 2, 'countdown': 7}"},
            [
                "max_attempts=3",
                "types_of_exceptions=(E,)",
                "retry_base=7",
                "retry_cap=7",
                "retry_jitter=False",
            ],
            None,
        ),
        (
            {"autoretry_for": "(E,)", "retry_kwargs": "KWARGS"},
            [DEFAULT_ATTEMPTS, "types_of_exceptions=(E,)", *FIXED_180],
            "fold max_retries/countdown",
        ),
        (
            {"autoretry_for": "(E,)", "dont_autoretry_for": "(F,)"},
            [DEFAULT_ATTEMPTS, "types_of_exceptions=(E,)", *FIXED_180],
            "keep these out of types_of_exceptions",
        ),
    ],
)
def test_retry_labels(options: dict[str, str], labels: list[str], todo: str | None) -> None:
    plan = retry_labels(options)
    assert [label.text for label in plan.labels] == labels
    if todo is None:
        assert plan.todos == []
    else:
        assert any(todo in text for text in plan.todos), plan.todos


def test_max_attempts_says_why_it_is_one_more() -> None:
    attempts = retry_labels({"max_retries": "3", "autoretry_for": "(E,)"}).labels[0]
    assert attempts.comment == "Celery's max_retries=3 counted retries; this counts runs"


@pytest.mark.parametrize(
    ("manual", "labels", "todo"),
    [
        # countdown=2 ** self.request.retries waits 1, 2, 4 s: base 1, capped at its largest.
        (
            ManualRetries(("2 ** self.request.retries",), (), ("ConnectionError",), 1),
            [
                DEFAULT_ATTEMPTS,
                "types_of_exceptions=(ConnectionError,)",
                "retry_base=1",
                "retry_cap=4",
                "retry_jitter=False",
            ],
            None,
        ),
        (
            ManualRetries(("30 * 2 ** self.request.retries",), ("5",), ("IOError",), 1),
            [
                "max_attempts=6",
                "types_of_exceptions=(IOError,)",
                "retry_base=30",
                "retry_cap=480",
                "retry_jitter=False",
            ],
            None,
        ),
        (
            ManualRetries(("15",), (), ("IOError",), 1),
            [
                DEFAULT_ATTEMPTS,
                "types_of_exceptions=(IOError,)",
                "retry_base=15",
                "retry_cap=15",
                "retry_jitter=False",
            ],
            None,
        ),
        # The task's own delay list has no exact label: the TODO says how the delays differ.
        (
            ManualRetries(("DELAYS[self.request.retries]",), (), None, 1),
            [DEFAULT_ATTEMPTS],
            "computes its own delays",
        ),
    ],
)
def test_self_retry_countdowns_keep_their_delays(
    manual: ManualRetries, labels: list[str], todo: str | None
) -> None:
    plan = retry_labels({}, manual)
    assert [label.text for label in plan.labels] == labels
    if todo is None:
        assert plan.todos == []
    else:
        assert any(todo in text for text in plan.todos), plan.todos
