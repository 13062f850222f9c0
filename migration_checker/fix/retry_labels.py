"""Celery's retry options → this stack's retry labels (tasks/backoff.py), as a pure function.

Celery retries after `factor * 2**retries` seconds with `retry_backoff` (factor
`int(max(1, retry_backoff))`, capped by `retry_backoff_max`, full jitter by default), and after a
fixed `default_retry_delay` without it. The stack waits `min(cap, base * 2**(n-1))` before retry n,
so backoff is `retry_base=factor, retry_cap=max` and a fixed delay is `retry_base = retry_cap`."""

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

from migration_checker.fix.target import (
    CELERY_BACKOFF_MAX,
    CELERY_MAX_RETRIES,
    CELERY_RETRY_DELAY,
    Label,
)

__all__ = ["RETRY_OPTIONS", "RetryPlan", "retry_labels"]

RETRY_OPTIONS = frozenset(
    {
        "max_retries",
        "autoretry_for",
        "dont_autoretry_for",
        "retry_kwargs",
        "retry_backoff",
        "retry_backoff_max",
        "retry_jitter",
        "default_retry_delay",
    }
)
_UNSET = object()
_COUNTS = "counted retries; this counts runs"


@dataclass(slots=True)
class RetryPlan:
    labels: list[Label] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)


def _literal(text: str | None) -> object:
    if text is None:
        return _UNSET
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return _UNSET


def _attempts(options: Mapping[str, str], plan: RetryPlan) -> None:
    text = options.get("max_retries")
    value = _literal(text)
    if text is None:
        plan.labels.append(
            Label(
                f"max_attempts={CELERY_MAX_RETRIES + 1}",
                f"Celery's default max_retries={CELERY_MAX_RETRIES} {_COUNTS}",
            )
        )
    elif value is None:
        plan.todos.append("max_retries=None retries forever: choose a max_attempts label")
    elif isinstance(value, int) and not isinstance(value, bool):
        plan.labels.append(
            Label(f"max_attempts={value + 1}", f"Celery's max_retries={value} {_COUNTS}")
        )
    else:
        plan.labels.append(Label(f"max_attempts=({text}) + 1", f"Celery's max_retries {_COUNTS}"))
    if "autoretry_for" in options:
        plan.labels.append(Label(f"types_of_exceptions={options['autoretry_for']}"))
    else:
        plan.todos.append(
            "Celery retried only through self.retry(); here every Exception the task raises "
            "is retried: list the retryable ones in types_of_exceptions=(...)"
        )


def _delays(options: Mapping[str, str], plan: RetryPlan) -> None:
    backoff = _literal(options.get("retry_backoff"))
    if "retry_backoff" in options and backoff is _UNSET:
        plan.todos.append(f"retry_backoff={options['retry_backoff']}: set retry_base by hand")
        return
    if backoff is _UNSET or backoff is False:
        delay = options.get("default_retry_delay", CELERY_RETRY_DELAY)
        plan.labels += [
            Label(f"retry_base={delay}", "Celery's fixed delay: base = cap, no jitter"),
            Label(f"retry_cap={delay}"),
            Label("retry_jitter=False"),
        ]
        return
    factor = int(max(1.0, float(backoff))) if isinstance(backoff, int | float) else 1
    cap = options.get("retry_backoff_max")
    plan.labels += [
        Label(f"retry_base={factor}", "Celery's backoff factor: first retry after this"),
        Label(f"retry_cap={cap or CELERY_BACKOFF_MAX}", "" if cap else "Celery's default"),
    ]
    if "retry_jitter" in options:
        plan.labels.append(Label(f"retry_jitter={options['retry_jitter']}"))
    if "default_retry_delay" in options:
        plan.todos.append(
            f"default_retry_delay={options['default_retry_delay']}: only self.retry() used it; "
            "the backoff labels set every delay here"
        )


def retry_labels(options: Mapping[str, str]) -> RetryPlan:
    """`options`: the task's option name → source text; only retry options are read."""
    plan = RetryPlan()
    if RETRY_OPTIONS.isdisjoint(options):
        return plan
    _attempts(options, plan)
    _delays(options, plan)
    if "retry_kwargs" in options:
        plan.todos.append(
            f"retry_kwargs={options['retry_kwargs']}: fold max_retries/countdown into the "
            "max_attempts/retry_base labels"
        )
    if "dont_autoretry_for" in options:
        plan.todos.append(
            f"dont_autoretry_for={options['dont_autoretry_for']}: keep these out of "
            "types_of_exceptions (a subclass of a listed type is retried)"
        )
    return plan
