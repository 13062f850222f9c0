"""Celery setting names: old upper-case and Django-namespaced spellings folded onto the
lower-case names of Celery 4+, and the rule each setting is reported under."""

import ast
from collections.abc import Iterable

__all__ = ["KNOWN_SETTINGS", "canonical_setting", "celery_setting", "setting_note", "setting_rule"]

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

# Celery 5's setting names (the lower-case ones), so that `celery_app = Celery()` or
# `CELERY_QUEUE_NAME = "x"` of the project's own is not taken for a setting.
KNOWN_SETTINGS = frozenset(_RULE_BY_SETTING) | {
    "broker_url",
    "broker_transport_options",
    "broker_connection_retry",
    "broker_connection_retry_on_startup",
    "broker_connection_max_retries",
    "broker_connection_timeout",
    "broker_heartbeat",
    "broker_pool_limit",
    "broker_use_ssl",
    "broker_read_url",
    "broker_write_url",
    "broker_transport",
    "broker_login_method",
    "result_backend",
    "result_backend_transport_options",
    "result_expires",
    "result_extended",
    "result_compression",
    "result_persistent",
    "result_chord_join_timeout",
    "result_accept_content",
    "redis_backend_use_ssl",
    "redis_max_connections",
    "redis_socket_timeout",
    "redis_socket_connect_timeout",
    "cache_backend",
    "cache_backend_options",
    "timezone",
    "enable_utc",
    "imports",
    "include",
    "beat_scheduler",
    "beat_schedule_filename",
    "beat_max_loop_interval",
    "beat_sync_every",
    "task_track_started",
    "task_send_sent_event",
    "task_compression",
    "task_protocol",
    "task_create_missing_queues",
    "task_default_exchange",
    "task_default_exchange_type",
    "task_default_routing_key",
    "task_default_delivery_mode",
    "task_store_errors_even_if_ignored",
    "task_publish_retry",
    "task_publish_retry_policy",
    "task_remote_tracebacks",
    "task_inherit_parent_priority",
    "task_queue_max_priority",
    "worker_hijack_root_logger",
    "worker_send_task_events",
    "worker_pool",
    "worker_pool_restarts",
    "worker_disable_rate_limits",
    "worker_log_format",
    "worker_task_log_format",
    "worker_redirect_stdouts",
    "worker_redirect_stdouts_level",
    "worker_lost_wait",
    "worker_cancel_long_running_tasks_on_connection_loss",
    "worker_proc_alive_timeout",
    "worker_direct",
    "worker_enable_remote_control",
    "worker_state_db",
    "worker_timer_precision",
    "worker_deduplicate_successful_tasks",
    "event_queue_ttl",
    "event_queue_expires",
    "control_queue_ttl",
    "security_key",
    "security_certificate",
    "security_cert_store",
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


def celery_setting(name: str, namespaces: Iterable[str]) -> str | None:
    """The setting a module-level name is to Celery, or None. Under
    `config_from_object(..., namespace="CELERY")` Celery reads `CELERY_<SETTING>` names only;
    otherwise it reads a module's lower-case names and Celery 3's upper-case ones."""
    spaced = tuple(namespaces)
    if spaced:
        for prefix in spaced:
            rest = name.removeprefix(f"{prefix}_")
            if rest != name and rest.isupper() and rest.lower() in KNOWN_SETTINGS:
                return rest.lower()
        return None
    if name.islower() and name in KNOWN_SETTINGS:
        return name
    if name.isupper() and name.startswith(("CELERY", "BROKER_")):
        key = canonical_setting(name)
        return key if key in KNOWN_SETTINGS else None
    return None


def setting_note(key: str, value: ast.expr) -> str:
    """What a value means where Celery's unit is not the stack's."""
    if key == "worker_max_memory_per_child":
        if isinstance(value, ast.Constant) and type(value.value) is int:
            return f"={value.value} KiB (WORKER_MAX_MEMORY_MB={max(1, value.value // 1024)})"
        return " (KiB: divide by 1024 for WORKER_MAX_MEMORY_MB)"
    return ""


def setting_rule(canonical: str) -> str:
    return _RULE_BY_SETTING.get(canonical, "app-conf")
