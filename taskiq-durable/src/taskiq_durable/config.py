"""The library's configuration: one value, built by the caller and passed in.

No module of `taskiq_durable` reads the environment. A service builds a `DurableConfig` from its
own settings (this repository's `core/settings.py` does it in `Settings.durable()`) and hands it
to `build_broker`, the scheduler and the CLIs; everything else receives it from them.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = ["DEFAULT_QUEUE", "DurableConfig"]

DEFAULT_QUEUE = "default"


@dataclass(frozen=True, slots=True, kw_only=True)
class DurableConfig:
    redis_url: str = "redis://127.0.0.1:6379/0"
    # "single": `redis_url` is the server. "sentinel": the master of `redis_sentinel_master`
    # as `redis_sentinels` (host, port) name it now; `redis_url` gives database, password, TLS.
    redis_mode: Literal["single", "sentinel"] = "single"
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str = "mymaster"
    # A kick returns only once this many replicas hold the message too. Replication is
    # asynchronous: a failover can promote a replica that lacks a write the old master
    # acknowledged; with 1 here, a kick the failover would lose fails instead (docs/deploy.md).
    redis_kick_replicas: int = 0
    # Every Redis key, stream and channel starts with this, so several services (or test runs)
    # can share one Redis server without seeing each other.
    redis_prefix: str = "taskiq"

    # Named queues, Celery's `-Q`: one stream each. A kick to a queue not listed here is refused
    # at kick time, since no worker would ever read it. The first one is the default queue.
    queues: tuple[str, ...] = (DEFAULT_QUEUE,)
    # The queue this worker process reads.
    worker_queue: str = DEFAULT_QUEUE
    # Celery's `task_routes`: task-name pattern (fnmatch) -> queue, for kicks that name none.
    task_routes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    # Delivery (docs/delivery.md): a message whose worker stopped heartbeating for this long
    # is handed to a live worker; an idle worker child looks for such messages this often.
    redelivery_timeout_seconds: float = 30.0
    reclaim_interval_seconds: float = 5.0
    # A message delivered more than this many times is a poison message (0 = never).
    max_deliveries: int = 5
    stream_trim_interval_seconds: float = 60.0
    worker_max_tasks_per_child: int = 0
    worker_max_memory_mb: int = 0
    # How long an idle delayed-delivery poller sleeps between looks at the due set.
    delayed_poll_seconds: float = 0.25
    # Processes each worker child keeps for CPU-bound sync work.
    cpu_processes: int = 1

    result_ttl_seconds: int = 3600
    # Celery's `task_track_started`.
    track_started: bool = False

    # Scheduler (docs/scheduling.md).
    timezone: str = "UTC"
    scheduler_poll_seconds: float = 0.5
    scheduler_refresh_seconds: float = 5.0
    scheduler_misfire_grace_seconds: float = 30.0
    scheduler_misfire_default: Literal["catch_up", "skip"] = "catch_up"

    def __post_init__(self) -> None:
        if self.redis_mode == "sentinel" and not self.redis_sentinels:
            raise ValueError("redis_mode 'sentinel' needs at least one (host, port) sentinel")
        if self.redis_kick_replicas < 0:
            raise ValueError(f"redis_kick_replicas must be >= 0, not {self.redis_kick_replicas}")
        if self.redis_mode not in ("single", "sentinel"):
            raise ValueError(f"unknown redis_mode {self.redis_mode!r}: 'single' or 'sentinel'")
        if not self.queues:
            raise ValueError("at least one queue is needed")
        for name in self.queues:
            if not name or ":" in name or name != name.strip():
                raise ValueError(f"bad queue name {name!r}: non-empty, no colon, no spaces")
        if len(set(self.queues)) != len(self.queues):
            raise ValueError(f"queue names repeat: {', '.join(self.queues)}")
        if self.worker_queue not in self.queues:
            raise ValueError(
                f"worker queue {self.worker_queue!r} is not one of the queues"
                f" ({', '.join(self.queues)})"
            )
        for pattern, queue in self.task_routes.items():
            if queue not in self.queues:
                raise ValueError(
                    f"task route {pattern!r} names unknown queue {queue!r}"
                    f" (queues: {', '.join(self.queues)})"
                )
        # A frozen value all the way down: nobody can reroute a running process by mutation.
        object.__setattr__(self, "task_routes", MappingProxyType(dict(self.task_routes)))

    @property
    def default_queue(self) -> str:
        return self.queues[0]

    def key(self, *parts: str) -> str:
        """A Redis key inside this namespace."""
        return ":".join((self.redis_prefix, *parts))
