"""Celery's retry options → this stack's retry labels (taskiq_durable.backoff), as a pure function.

Celery retries after `factor * 2**retries` seconds with `retry_backoff` (factor
`int(max(1, retry_backoff))`, capped by `retry_backoff_max`, full jitter by default), and after a
fixed `default_retry_delay` without it. The stack waits `min(cap, base * 2**(n-1))` before retry n,
so backoff is `retry_base=factor, retry_cap=max` and a fixed delay is `retry_base = retry_cap`."""

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from migration_checker.fix.target import (
    CELERY_BACKOFF_MAX,
    CELERY_MAX_RETRIES,
    CELERY_RETRY_DELAY,
    Label,
)

__all__ = ["RETRY_OPTIONS", "ManualRetries", "RetryPlan", "retry_labels"]

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


@dataclass(frozen=True, slots=True)
class ManualRetries:
    """The task's own `self.retry(...)` calls: their `countdown=` and `max_retries=` texts,
    and the exception types of the `except` blocks they sit in (None when one is untyped)."""

    countdowns: tuple[str, ...] = ()
    max_retries: tuple[str, ...] = ()
    exception_types: tuple[str, ...] | None = None
    calls: int = 0


# `2 ** self.request.retries`, optionally times a factor: Celery's retry n waits
# factor * 2**(n-1), which is the stack's backoff with retry_base=factor.
_DOUBLING = re.compile(r"^(?:(?P<factor>\d+(?:\.\d+)?) \* )?\(?2 \*\* \w+\.request\.retries\)?$")


def _literal(text: str | None) -> object:
    if text is None:
        return _UNSET
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return _UNSET


def _attempts(options: Mapping[str, str], manual: ManualRetries, plan: RetryPlan) -> bool:
    """The attempt labels; False when Celery never retried the task at all."""
    if "autoretry_for" not in options and manual.calls == 0:
        plan.labels.append(
            Label("max_attempts=1", "Celery retried only through self.retry(), never called here")
        )
        return False
    text = options.get("max_retries")
    if len(set(manual.max_retries)) == 1:
        text = manual.max_retries[0]
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
    elif manual.exception_types:
        types = ", ".join(dict.fromkeys(manual.exception_types))
        plan.labels.append(
            Label(f"types_of_exceptions=({types},)", "the exceptions self.retry() was called for")
        )
    else:
        plan.todos.append(
            "Celery retried only through self.retry(); here every Exception the task raises "
            "is retried: list the retryable ones in types_of_exceptions=(...)"
        )
    return True


def _manual_delay(options: Mapping[str, str], manual: ManualRetries, plan: RetryPlan) -> bool:
    """Labels for the countdown the task's own self.retry() computes; False when it has none.
    Celery sets no cap on a hand-computed countdown: the cap is the largest delay reached."""
    countdowns = set(manual.countdowns)
    if not countdowns:
        return False
    text = next(iter(countdowns)) if len(countdowns) == 1 else ""
    doubling = _DOUBLING.match(text)
    constant = _literal(text or None)
    retries = _literal(manual.max_retries[0] if manual.max_retries else options.get("max_retries"))
    if not isinstance(retries, int):
        retries = CELERY_MAX_RETRIES
    if doubling:
        factor = doubling.group("factor") or "1"
        cap = float(factor) * 2 ** max(retries - 1, 0)
        plan.labels += [
            Label(f"retry_base={factor}", f"self.retry(countdown={text})"),
            Label(f"retry_cap={cap:g}", "its largest delay: Celery did not cap it"),
            Label("retry_jitter=False"),
        ]
    elif isinstance(constant, int | float) and not isinstance(constant, bool):
        plan.labels += [
            Label(f"retry_base={text}", f"self.retry(countdown={text}): a fixed delay"),
            Label(f"retry_cap={text}"),
            Label("retry_jitter=False"),
        ]
    else:
        shown = " / ".join(sorted(c for c in countdowns))
        plan.todos.append(
            f"self.retry(countdown={shown}) computes its own delays; here retry n waits "
            "min(retry_cap, retry_base * 2**(n-1)): choose retry_base/retry_cap to match"
        )
    return True


def _delays(options: Mapping[str, str], manual: ManualRetries, plan: RetryPlan) -> None:
    backoff = _literal(options.get("retry_backoff"))
    if "retry_backoff" in options and backoff is _UNSET:
        plan.todos.append(f"retry_backoff={options['retry_backoff']}: set retry_base by hand")
        return
    if (backoff is _UNSET or backoff is False) and _manual_delay(options, manual, plan):
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


def _with_retry_kwargs(options: Mapping[str, str], plan: RetryPlan) -> dict[str, str]:
    """`retry_kwargs={"max_retries": 5, "countdown": 10}` is what autoretry passes to
    self.retry(): the same as the task's max_retries and a fixed delay."""
    merged = dict(options)
    text = merged.pop("retry_kwargs", None)
    if text is None:
        return merged
    value = _literal(text)
    if not isinstance(value, dict) or not set(value) <= {"max_retries", "countdown"}:
        plan.todos.append(
            f"retry_kwargs={text}: fold max_retries/countdown into the "
            "max_attempts/retry_base labels"
        )
        return merged
    if "max_retries" in value:
        merged["max_retries"] = repr(value["max_retries"])
    if "countdown" in value:
        merged["default_retry_delay"] = repr(value["countdown"])
    return merged


def retry_labels(options: Mapping[str, str], manual: ManualRetries | None = None) -> RetryPlan:
    """`options`: the task's option name → source text; only retry options are read.
    `manual`: what the task's own self.retry() calls say."""
    plan = RetryPlan()
    manual = manual or ManualRetries()
    if RETRY_OPTIONS.isdisjoint(options) and manual.calls == 0:
        return plan
    options = _with_retry_kwargs(options, plan)
    if not _attempts(options, manual, plan):
        return plan
    _delays(options, manual, plan)
    if "dont_autoretry_for" in options:
        plan.todos.append(
            f"dont_autoretry_for={options['dont_autoretry_for']}: keep these out of "
            "types_of_exceptions (a subclass of a listed type is retried)"
        )
    return plan
