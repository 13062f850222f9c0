"""Celery task decorator options and the rule each one is reported under."""

__all__ = ["TIME_LIMIT_OPTIONS", "option_rule"]

TIME_LIMIT_OPTIONS = frozenset({"time_limit", "soft_time_limit"})

_RULE_BY_OPTION = {
    "bind": "task-bind",
    "max_retries": "retry",
    "autoretry_for": "retry",
    "dont_autoretry_for": "retry",
    "retry_kwargs": "retry",
    "retry_backoff": "retry",
    "retry_backoff_max": "retry",
    "retry_jitter": "retry",
    "default_retry_delay": "retry",
    "time_limit": "time-limit",
    "soft_time_limit": "time-limit",
    "queue": "routing",
    "routing_key": "routing",
    "exchange": "routing",
    "priority": "routing",
    "rate_limit": "rate-limit",
    "ignore_result": "ignore-result",
    "store_errors_even_if_ignored": "ignore-result",
    "acks_late": "acks-late",
    "reject_on_worker_lost": "acks-late",
    "acks_on_failure_or_timeout": "acks-late",
    "serializer": "serializer",
}


def option_rule(option: str) -> str:
    return _RULE_BY_OPTION.get(option, "task-option")
