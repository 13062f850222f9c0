"""Celery retry options → the stack's retry labels (tasks/backoff.py), as a table."""

import pytest

from migration_checker.fix.retry_labels import retry_labels

DEFAULT_ATTEMPTS = "max_attempts=4"
FIXED_180 = ["retry_base=180", "retry_cap=180", "retry_jitter=False"]


@pytest.mark.parametrize(
    ("options", "labels", "todo"),
    [
        ({}, [], None),
        ({"time_limit": "30"}, [], None),
        # Celery's max_retries counts retries; max_attempts counts the first run too.
        ({"max_retries": "3"}, ["max_attempts=4", *FIXED_180], "types_of_exceptions"),
        ({"max_retries": "0"}, ["max_attempts=1", *FIXED_180], "types_of_exceptions"),
        ({"max_retries": "N"}, ["max_attempts=(N) + 1", *FIXED_180], "types_of_exceptions"),
        ({"max_retries": "None"}, FIXED_180, "retries forever"),
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
        (
            {"autoretry_for": "(E,)", "retry_kwargs": "{'max_retries': 5}"},
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
    attempts = retry_labels({"max_retries": "3"}).labels[0]
    assert attempts.comment == "Celery's max_retries=3 counted retries; this counts runs"
