"""Celery setting names: old upper-case and Django-namespaced spellings folded onto the
lower-case names of Celery 4+, and the rule each setting is reported under."""

__all__ = ["canonical_setting", "is_celery_setting", "setting_rule"]

# Celery 3 names whose modern spelling is not the mechanical one.
_RENAMED = {
    "celerybeat_schedule": "beat_schedule",
    "celery_routes": "task_routes",
    "celery_acks_late": "task_acks_late",
    "celery_task_result_expires": "result_expires",
    "celery_result_expires": "result_expires",
    "celery_always_eager": "task_always_eager",
    "celery_accept_content": "accept_content",
    "celery_result_serializer": "result_serializer",
    "celery_task_serializer": "task_serializer",
    "celery_result_backend": "result_backend",
    "broker_url": "broker_url",
    "celery_broker_url": "broker_url",
    "celery_timezone": "timezone",
    "celery_imports": "imports",
    "celery_default_queue": "task_default_queue",
    "celery_default_rate_limit": "task_default_rate_limit",
}

_KNOWN_PREFIXES = ("task_", "worker_", "result_", "broker_", "beat_", "accept_content")

_RULE_BY_SETTING = {
    "beat_schedule": "beat-schedule",
    "task_routes": "task-routes",
    "task_acks_late": "acks-late",
    "task_reject_on_worker_lost": "acks-late",
    "worker_prefetch_multiplier": "acks-late",
    "task_time_limit": "time-limit",
    "task_soft_time_limit": "time-limit",
    "worker_max_tasks_per_child": "worker-recycling",
    "worker_max_memory_per_child": "worker-recycling",
    "worker_concurrency": "concurrency",
    "task_always_eager": "eager-testing",
    "task_eager_propagates": "eager-testing",
    "task_serializer": "serializer",
    "result_serializer": "serializer",
    "event_serializer": "serializer",
    "accept_content": "serializer",
    "task_default_rate_limit": "rate-limit",
    "task_ignore_result": "ignore-result",
    "task_default_queue": "routing",
    "task_queues": "routing",
    "task_default_priority": "routing",
    "task_annotations": "task-option",
}

_LOWER_CASE_SETTINGS = frozenset(_RULE_BY_SETTING) | {
    "broker_url",
    "result_backend",
    "result_expires",
}


def canonical_setting(name: str) -> str:
    """`CELERYD_MAX_TASKS_PER_CHILD` → `worker_max_tasks_per_child`, `CELERY_TASK_X` → `task_x`."""
    key = name.lower()
    if key in _RENAMED:
        return _RENAMED[key]
    if key.startswith("celeryd_"):
        return "worker_" + key.removeprefix("celeryd_")
    if key.startswith("celerybeat_"):
        return "beat_" + key.removeprefix("celerybeat_")
    if key.startswith("celery_"):
        rest = key.removeprefix("celery_")
        return rest if rest.startswith(_KNOWN_PREFIXES) else "task_" + rest
    return key


def is_celery_setting(name: str) -> bool:
    """A module-level name that only a Celery settings module would define."""
    if name.upper().startswith(("CELERY_", "CELERYD_", "CELERYBEAT_")):
        return True
    return name.islower() and canonical_setting(name) in _LOWER_CASE_SETTINGS


def setting_rule(canonical: str) -> str:
    return _RULE_BY_SETTING.get(canonical, "app-conf")
