"""Settings, read from the environment (and `.env`) once per process."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from taskiq_durable import DurableConfig

# Shorter tokens can be guessed; a generated one (deploy/credentials.py) has 43 characters.
MIN_TOKEN_LENGTH = 16


class Settings(BaseSettings):
    """Every knob of the stack; `.env.example` documents each one."""

    # Hidden inputs: a refused value may be a secret (OPERATOR_TOKEN, a DATABASE_URL password),
    # and pydantic would print it in the error.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/stack"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Every Redis key, stream and channel of the stack starts with this, so several
    # stacks (or test runs) can share one Redis server without seeing each other.
    redis_prefix: str = "stack"
    # Redis topology (taskiq_durable.connections, docs/deploy.md): "single" uses REDIS_URL's
    # server; "sentinel" asks REDIS_SENTINELS (host:port, comma-separated) for the master of
    # REDIS_SENTINEL_MASTER and follows it through failovers (REDIS_URL then gives the database,
    # password and TLS only).
    redis_mode: Literal["single", "sentinel"] = "single"
    redis_sentinels: Annotated[tuple[tuple[str, int], ...], NoDecode] = ()
    redis_sentinel_master: str = "mymaster"
    # A kick returns only once this many replicas hold the message (WAIT): with Sentinel, 1
    # makes a kick that a failover could lose fail instead (docs/deploy.md).
    redis_kick_replicas: Annotated[int, Field(ge=0)] = 0

    db_pool_size: Annotated[int, Field(ge=1)] = 10
    db_max_overflow: Annotated[int, Field(ge=0)] = 5
    db_pool_timeout: Annotated[float, Field(gt=0)] = 10.0
    # The connection budget (core/db/pool_budget.py): web and worker refuse to start when
    # (WEB_PROCESSES + WORKER_PROCESSES) x (pool + overflow) passes max_connections less this share.
    web_processes: Annotated[int, Field(ge=1)] = 1
    db_connection_reserve: Annotated[float, Field(ge=0, lt=1)] = 0.1
    # A pooler in transaction mode (PgBouncer before 1.21, or without max_prepared_statements)
    # between the stack and PostgreSQL hands each transaction any server connection: asyncpg
    # must then keep no prepared statement past its query and name each one uniquely
    # (core/resources.py, docs/deploy.md).
    db_transaction_pooler: bool = False

    worker_processes: Annotated[int, Field(ge=1)] = 2
    # WORKER_CONCURRENCY is not read here: it is the Procfile's `--max-async-tasks`, and the
    # worker's receiver sizes the broker's reads from that flag (taskiq_durable.streams.receiver).
    # Named queues, Celery's `-Q` (taskiq_durable.queues): one stream each, the first is the
    # default. `make up` starts one worker per queue, so urgent work never waits behind a
    # backlog of other work; a kick to a queue not listed here is refused. Comma-separated.
    queues: Annotated[tuple[str, ...], NoDecode] = ("default", "urgent")
    # The one queue this worker process reads (`make up` sets it per worker).
    worker_queue: str = "default"
    # Celery's `task_routes`: task-name pattern (fnmatch) -> queue, for tasks and kicks that
    # name no queue themselves. JSON in the environment: TASK_ROUTES='{"reports.*": "urgent"}'.
    task_routes: dict[str, str] = {}

    # Delivery on the Redis stream (taskiq_durable.streams, docs/delivery.md). A message whose
    # worker
    # stopped heartbeating for this long is handed to a live worker; running tasks heartbeat,
    # so this bounds recovery after a crash, not task run time.
    redelivery_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    # How often an idle worker child looks for such orphaned messages.
    reclaim_interval_seconds: Annotated[float, Field(gt=0)] = 5.0
    # A reclaimed message delivered more than this many times (XPENDING's count) is a poison
    # message that kills or wedges its worker child: it becomes a dead letter instead of
    # running again (0 = redeliver forever, taskiq-redis's behaviour).
    max_deliveries: Annotated[int, Field(ge=0)] = 5
    # How often acknowledged entries are trimmed off the stream (never pending or undelivered
    # ones) and consumers of exited worker children are deleted.
    stream_trim_interval_seconds: Annotated[float, Field(gt=0)] = 60.0
    # A worker child stops fetching, drains and is respawned after this many tasks (0 = never)...
    worker_max_tasks_per_child: Annotated[int, Field(ge=0)] = 0
    # ...or once its resident memory passes this many MiB (0 = no limit). On by default: a
    # child runs near 100 MiB and an import of any size stays under 200 (bench/import_memory.py),
    # so only a leak or a runaway task reaches it; the child drains and is replaced, nothing lost.
    worker_max_memory_mb: Annotated[int, Field(ge=0)] = 512

    # Delayed delivery (retries, countdown/eta, rate limits; taskiq_durable.delayed): how long an
    # idle
    # worker child's poller sleeps between looks at the due set. A retry scheduled in the same
    # child wakes it at once; one scheduled elsewhere can start up to this much late.
    delayed_poll_seconds: Annotated[float, Field(gt=0, le=1)] = 0.25
    # Processes each worker child keeps for CPU-bound sync work (taskiq_durable.cpu_pool): a call
    # over its hard limit gets its process killed and replaced, which a thread can't offer.
    cpu_processes: Annotated[int, Field(ge=1)] = 1

    result_ttl_seconds: Annotated[int, Field(ge=1)] = 3600
    # Celery's `task_track_started`: write a STARTED marker for every task, not only those
    # labelled `track_started=True`. Off as in Celery: it costs a Redis SET per task.
    track_started: bool = False
    upload_max_bytes: Annotated[int, Field(ge=1)] = 10 * 1024 * 1024
    upload_retention_hours: Annotated[float, Field(gt=0)] = 24.0
    import_batch_size: Annotated[int, Field(ge=1)] = 1000
    timezone: str = "UTC"
    daily_report_cron: str = "5 0 * * *"

    # Scheduler (docs/scheduling.md). How often the tick loop checks whether runtime schedules
    # changed: the bound on picking up a schedule added through /admin/schedules.
    scheduler_poll_seconds: Annotated[float, Field(gt=0, le=2)] = 0.5
    # How often it re-reads every source anyway, for writes that bypass the admin API.
    scheduler_refresh_seconds: Annotated[float, Field(gt=0)] = 5.0
    # A tick older than this when a scheduler first sees it was missed (no scheduler ran);
    # a younger one is just late and is sent whatever the misfire policy.
    scheduler_misfire_grace_seconds: Annotated[float, Field(ge=0)] = 30.0
    # Misfire policy of schedules that set none: send a missed tick once, or skip it.
    scheduler_misfire_default: Literal["catch_up", "skip"] = "catch_up"

    # Transactional outbox (docs/patterns/transactions.md): a kick committed with its data is
    # sent at once; one still unsent after this long (a crash between commit and send, Redis
    # down) is sent by the relay in the worker, so this bounds the delay of those.
    outbox_relay_delay_seconds: Annotated[float, Field(ge=0)] = 5.0
    # Sent outbox rows and processed-message markers are deleted after this long.
    outbox_retention_hours: Annotated[float, Field(gt=0)] = 24.0

    # How long worker and scheduler wait for the release step to bring the schema to head.
    schema_wait_seconds: Annotated[float, Field(ge=0)] = 60.0

    # Where the image pipeline keeps downloaded originals and stored thumbnails; every worker
    # must see the same directory (a shared volume, as S3 is for a Celery deployment).
    media_dir: Path = Path("media")
    # The image pipeline refuses downloads larger than this.
    image_max_bytes: Annotated[int, Field(ge=1)] = 10 * 1024 * 1024
    # Connect/read/write/pool timeout of the per-process HTTP client tasks use.
    http_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    # That client refuses loopback, private, link-local, multicast and reserved addresses
    # (core/net.py) unless this is set: a task given a URL must not reach the stack's own
    # servers or a cloud metadata endpoint.
    http_allow_private: bool = False

    # Credentials of the control routes (/admin/*, revoke; docs/security.md): a bearer token,
    # or basic auth as user `operator` / `viewer`. Neither set: the control routes are off.
    operator_token: SecretStr | None = None
    viewer_token: SecretStr | None = None
    # Largest request body a control route reads; a larger one is refused (413) unread.
    control_body_max_bytes: Annotated[int, Field(ge=1)] = 16 * 1024

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("task_routes", mode="before")
    @classmethod
    def _routes_from_json(cls, value: object) -> object:
        # The environment source decodes JSON itself; a plain string (a `.env` value passed
        # in by hand, as the docs test does) needs it here.
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("queues", mode="before")
    @classmethod
    def _queues_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _sentinels_from_text(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        sentinels = []
        for part in (part.strip() for part in value.split(",")):
            host, _, port = part.rpartition(":")
            if not part:
                continue
            if not host or not port.isdigit():
                raise ValueError(f"REDIS_SENTINELS entry {part!r} is not host:port")
            sentinels.append((host, int(port)))
        return tuple(sentinels)

    @model_validator(mode="after")
    def _sentinels_for_sentinel_mode(self) -> Self:
        if self.redis_mode == "sentinel" and not self.redis_sentinels:
            raise ValueError("REDIS_MODE=sentinel needs REDIS_SENTINELS (host:port,host:port)")
        return self

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str) -> str:
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("DATABASE_URL must use the postgresql+asyncpg:// driver")
        return value

    @field_validator("operator_token", "viewer_token", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # An empty OPERATOR_TOKEN (as .env.example has it) means "not configured".
        return None if value == "" else value

    @field_validator("operator_token", "viewer_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"a control-route token needs at least {MIN_TOKEN_LENGTH} characters;"
                " make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @model_validator(mode="after")
    def _distinct_tokens(self) -> Self:
        operator, viewer = self.operator_token, self.viewer_token
        if operator is not None and viewer is not None and operator == viewer:
            raise ValueError("OPERATOR_TOKEN and VIEWER_TOKEN must differ: a token names one role")
        return self

    def key(self, *parts: str) -> str:
        """A Redis key inside this stack's namespace."""
        return ":".join((self.redis_prefix, *parts))

    def durable(self) -> DurableConfig:
        """The delivery layer's configuration, taken from these settings (checked there: an
        unknown worker queue or route target stops the process at start)."""
        return DurableConfig(
            redis_url=self.redis_url,
            redis_prefix=self.redis_prefix,
            redis_mode=self.redis_mode,
            redis_sentinels=self.redis_sentinels,
            redis_sentinel_master=self.redis_sentinel_master,
            redis_kick_replicas=self.redis_kick_replicas,
            queues=self.queues,
            worker_queue=self.worker_queue,
            task_routes=self.task_routes,
            redelivery_timeout_seconds=self.redelivery_timeout_seconds,
            reclaim_interval_seconds=self.reclaim_interval_seconds,
            max_deliveries=self.max_deliveries,
            stream_trim_interval_seconds=self.stream_trim_interval_seconds,
            worker_max_tasks_per_child=self.worker_max_tasks_per_child,
            worker_max_memory_mb=self.worker_max_memory_mb,
            delayed_poll_seconds=self.delayed_poll_seconds,
            cpu_processes=self.cpu_processes,
            result_ttl_seconds=self.result_ttl_seconds,
            track_started=self.track_started,
            timezone=self.timezone,
            scheduler_poll_seconds=self.scheduler_poll_seconds,
            scheduler_refresh_seconds=self.scheduler_refresh_seconds,
            scheduler_misfire_grace_seconds=self.scheduler_misfire_grace_seconds,
            scheduler_misfire_default=self.scheduler_misfire_default,
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
