"""The catalog: every pattern the checker reports, what it becomes in TaskIQ, and where the
guide explains it. Scanners only emit rule ids; everything a reader sees comes from here."""

from dataclasses import dataclass

from migration_checker.findings import Kind, Level
from migration_checker.sections import Section

__all__ = ["RULES", "Rule", "rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    """`effort_minutes` is a rough per-occurrence porting cost, summed for the estimate."""

    id: str
    title: str
    kind: Kind
    level: Level
    section: Section
    becomes: str
    effort_minutes: int


def _construct(id_: str, title: str, section: Section, becomes: str, minutes: int) -> Rule:
    return Rule(id_, title, Kind.CONSTRUCT, Level.NOTE, section, becomes, minutes)


def _hazard(id_: str, title: str, level: Level, section: Section, fix: str, minutes: int) -> Rule:
    return Rule(id_, title, Kind.HAZARD, level, section, fix, minutes)


S = Section
W, E = Level.WARNING, Level.ERROR

_ALL = (
    # Apps and configuration.
    _construct(
        "celery-app",
        "Celery app",
        S.APP_AND_CONFIG,
        "a TaskIQ broker (RedisStreamBroker) with a result backend, built per process",
        30,
    ),
    _construct(
        "config-from-object",
        "config_from_object",
        S.APP_AND_CONFIG,
        "one pydantic-settings class passed to the broker constructor",
        15,
    ),
    _construct(
        "app-conf",
        "Celery setting",
        S.APP_AND_CONFIG,
        "a broker/worker constructor argument or a `taskiq worker` flag",
        5,
    ),
    _construct(
        "settings-module",
        "Celery settings module",
        S.APP_AND_CONFIG,
        "fields of the project's BaseSettings",
        15,
    ),
    _construct(
        "beat-schedule",
        "beat_schedule entry",
        S.BEAT_SCHEDULES,
        'a `schedule=[{"cron": ...}]` task label read by `taskiq scheduler`',
        10,
    ),
    _construct(
        "task-routes",
        "task_routes",
        S.ROUTING_AND_PRIORITY,
        "a `queue_name` label per task and one worker per stream",
        15,
    ),
    _construct(
        "serializer",
        "serializer setting",
        S.SERIALIZATION,
        "the broker's serializer (JSON by default)",
        5,
    ),
    _construct(
        "worker-recycling",
        "max tasks/memory per child",
        S.WORKER_RECYCLING,
        "`taskiq worker --max-tasks-per-child`",
        5,
    ),
    _construct(
        "concurrency",
        "worker concurrency",
        S.CONNECTION_BUDGET,
        "`taskiq worker --workers N --max-async-tasks M`, counted in the DB budget",
        10,
    ),
    _construct(
        "eager-testing",
        "eager mode / Celery test helpers",
        S.TESTING,
        "InMemoryBroker via dependency overrides in a fixture",
        20,
    ),
    # Tasks and their options.
    _construct(
        "task-definition",
        "task definition",
        S.DEFINING_TASKS,
        "`@broker.task` (async def where the body does I/O)",
        5,
    ),
    _construct(
        "task-bind",
        "bind=True",
        S.DEFINING_TASKS,
        "a `context: Context = TaskiqDepends()` parameter",
        10,
    ),
    _construct(
        "retry",
        "retry options",
        S.RETRIES_AND_BACKOFF,
        "`retry_on_error`/`max_retries`/`delay` labels with SmartRetryMiddleware",
        10,
    ),
    _construct(
        "retry-call",
        "self.retry(...)",
        S.RETRIES_AND_BACKOFF,
        "raise the exception and let SmartRetryMiddleware retry",
        15,
    ),
    _construct("time-limit", "time limit", S.TIME_LIMITS, "the `timeout` label", 5),
    _construct(
        "routing",
        "queue / priority option",
        S.ROUTING_AND_PRIORITY,
        "the `queue_name` label and a worker consuming that stream",
        5,
    ),
    _construct(
        "rate-limit",
        "rate_limit",
        S.RATE_LIMITS,
        "the project's rate-limit middleware (TaskIQ has none built in)",
        20,
    ),
    _construct(
        "ignore-result",
        "ignore_result",
        S.RESULTS_AND_STATE,
        "no result backend write for fire-and-forget tasks",
        5,
    ),
    _construct(
        "acks-late",
        "acks late / prefetch",
        S.ACKS_LATE_AND_REDELIVERY,
        '`ack_type="when_executed"` label and stream redelivery of unacked messages',
        10,
    ),
    _construct(
        "task-option",
        "other task option",
        S.DEFINING_TASKS,
        "a label or a middleware, decided case by case",
        10,
    ),
    # Calling tasks and results.
    _construct("delay", ".delay()", S.CALLING_TASKS, "`await task.kiq(...)`", 2),
    _construct(
        "apply-async",
        ".apply_async()",
        S.CALLING_TASKS,
        "`await task.kicker().with_labels(...).kiq(...)`; countdown/eta → schedule_by_time",
        5,
    ),
    _construct(
        "signature", "signature (.s/.si/.signature)", S.CANVAS, "a taskiq-pipelines step", 15
    ),
    _construct(
        "canvas",
        "chain/group/chord/|",
        S.CANVAS,
        "taskiq-pipelines Pipeline (chain) or asyncio.gather of kiq results",
        30,
    ),
    _construct(
        "async-result",
        "AsyncResult",
        S.RESULTS_AND_STATE,
        "`broker.result_backend.get_result(task_id)` / `AsyncTaskiqTask`",
        10,
    ),
    _construct(
        "result-access",
        "result .get()/.state/.ready()",
        S.RESULTS_AND_STATE,
        "`(await task.wait_result(timeout=...)).raise_for_error().return_value`",
        5,
    ),
    _construct(
        "revoke", "revoke", S.REVOKE, "the project's revoke support (cancel by task id)", 20
    ),
    _construct(
        "signal",
        "Celery signal",
        S.SIGNALS,
        "a `broker.on_event(TaskiqEvents...)` handler or a TaskiqMiddleware hook",
        15,
    ),
    # Processes and tooling.
    _construct(
        "worker-command",
        "celery worker command",
        S.APP_AND_CONFIG,
        "`taskiq worker module:broker`",
        10,
    ),
    _construct(
        "beat-command",
        "celery beat command",
        S.ONE_SCHEDULER,
        "exactly one `taskiq scheduler module:scheduler` process",
        10,
    ),
    _construct(
        "diagnosis-tool",
        "celery inspect / flower",
        S.DIAGNOSIS,
        "redis-cli XINFO/XPENDING on the stream, worker logs and metrics",
        10,
    ),
    # Hazards.
    _hazard(
        "module-async-resource",
        "async resource created at import",
        E,
        S.THE_FORK_PROBLEM,
        "create engines, Redis clients and loops in the process's startup hook "
        "(WORKER_STARTUP / lifespan), never at import time",
        30,
    ),
    _hazard(
        "loop-bridge",
        "event loop driven inside a task",
        E,
        S.THE_FORK_PROBLEM,
        "make the task `async def` and await the coroutine; TaskIQ owns the loop",
        20,
    ),
    _hazard(
        "process-pool-in-task",
        "process pool inside a task",
        E,
        S.THE_FORK_PROBLEM,
        "run CPU work on its own queue and worker (`--use-process-pool`) instead of "
        "forking inside a worker",
        30,
    ),
    _hazard(
        "pickle-serializer",
        "pickle serializer",
        E,
        S.SERIALIZATION,
        "JSON (or msgpack) with explicit argument types; pass ids, not objects",
        30,
    ),
    _hazard(
        "no-time-limit",
        "task without a time limit",
        W,
        S.TIME_LIMITS,
        "set a `timeout` label on every task",
        5,
    ),
    _hazard(
        "results-never-expire",
        "results never expire",
        W,
        S.RESULTS_AND_STATE,
        "set `result_ex_time` on the result backend",
        5,
    ),
    _hazard(
        "in-process-runner",
        "scheduler or worker inside another process",
        E,
        S.ONE_SCHEDULER,
        "run web, worker and scheduler as separate processes; exactly one scheduler",
        30,
    ),
    _hazard(
        "startup-one-time-work",
        "one-time work in a per-process startup hook",
        W,
        S.STARTUP_TASKS,
        "move it to the container entrypoint / release step, or guard it with a DB lock",
        30,
    ),
    _hazard(
        "connection-budget",
        "pool sizes can exceed max_connections",
        E,
        S.CONNECTION_BUDGET,
        "size pools from process counts: (max_connections × 0.9) / processes",
        20,
    ),
    _hazard(
        "preload-fork",
        "app loaded before fork",
        W,
        S.THE_FORK_PROBLEM,
        "drop --preload or create every connection after the fork",
        10,
    ),
    _hazard(
        "swallowed-task-error",
        "task swallows every exception",
        W,
        S.LAYERED_FAULT_TOLERANCE,
        "re-raise after logging so retries and dead letters see the failure",
        10,
    ),
    Rule(
        "parse-error",
        "file could not be parsed",
        Kind.PROBLEM,
        Level.WARNING,
        S.DIAGNOSIS,
        "fix the syntax error and re-run the checker",
        0,
    ),
)

RULES: dict[str, Rule] = {r.id: r for r in _ALL}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
