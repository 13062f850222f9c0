"""The catalog: every pattern the checker reports, what it becomes in TaskIQ, and where the
guide explains it. Scanners only emit rule ids; everything a reader sees comes from here."""

from dataclasses import dataclass

from migration_checker.findings import Kind, Level
from migration_checker.sections import Section

__all__ = ["RULES", "Rule", "rule", "rules_table"]


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
        "the stack's broker (`tasks/broker.py`, `build_stack_broker(settings)`) and its JSON "
        "result "
        "backend",
        30,
    ),
    _construct(
        "config-from-object",
        "config_from_object",
        S.APP_AND_CONFIG,
        "fields of `core.settings.Settings`, set in the environment",
        15,
    ),
    _construct(
        "app-conf",
        "Celery setting",
        S.APP_AND_CONFIG,
        "a `core.settings.Settings` field (environment) or a `taskiq worker` flag",
        5,
    ),
    _construct(
        "settings-module",
        "Celery settings module",
        S.APP_AND_CONFIG,
        "fields of `core.settings.Settings`",
        15,
    ),
    _construct(
        "beat-schedule",
        "beat_schedule entry",
        S.BEAT_SCHEDULES,
        'a `schedule=[{"cron": ..., "schedule_id": ...}]` task label read by `taskiq scheduler`',
        10,
    ),
    _construct(
        "task-routes",
        "task_routes",
        S.ROUTING_AND_PRIORITY,
        "the `TASK_ROUTES` setting (fnmatch → queue) and a worker per queue (`WORKER_QUEUE`)",
        15,
    ),
    _construct(
        "serializer",
        "serializer setting",
        S.SERIALIZATION,
        "JSON, the stack's only serializer",
        5,
    ),
    _construct(
        "worker-recycling",
        "max tasks/memory per child",
        S.WORKER_RECYCLING,
        "the `WORKER_MAX_TASKS_PER_CHILD` / `WORKER_MAX_MEMORY_MB` settings (Celery's memory "
        "limit is in KiB; taskiq's own `--max-tasks-per-child` is not used)",
        5,
    ),
    _construct(
        "concurrency",
        "worker concurrency",
        S.CONNECTION_BUDGET,
        "`WORKER_PROCESSES` (prefork `-c`) × `WORKER_CONCURRENCY` (async tasks per child; "
        "`-P threads`/`gevent` is one process), counted in the DB budget",
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
        "`retries: Retries = TaskiqDepends()` (taskiq_durable.retry) or a `Context` parameter",
        10,
    ),
    _construct(
        "retry",
        "retry options",
        S.RETRIES_AND_BACKOFF,
        "`max_attempts`/`retry_base`/`retry_cap`/`retry_jitter`/`types_of_exceptions` labels",
        10,
    ),
    _construct(
        "retry-call",
        "self.retry(...)",
        S.RETRIES_AND_BACKOFF,
        "raise the exception: the task's retry labels retry it",
        15,
    ),
    _construct(
        "time-limit", "time limit", S.TIME_LIMITS, "`time_limit`/`soft_time_limit` labels", 5
    ),
    _construct(
        "routing",
        "queue / priority option",
        S.ROUTING_AND_PRIORITY,
        "the `queue` label, a queue listed in the `QUEUES` setting (default `default,urgent`) "
        "and a worker per queue (`WORKER_QUEUE`; `make up` starts one for each); `priority` is "
        "refused (`apply_async` raises): give urgent work its own queue",
        5,
    ),
    _construct(
        "rate-limit",
        "rate_limit",
        S.RATE_LIMITS,
        "the `rate_limit` label, shared by all workers",
        20,
    ),
    _construct(
        "ignore-result",
        "ignore_result",
        S.RESULTS_AND_STATE,
        "the `ignore_result` label",
        5,
    ),
    _construct(
        "acks-late",
        "acks late / prefetch",
        S.ACKS_LATE_AND_REDELIVERY,
        "nothing per task: acked after the result is saved, unacked messages redelivered",
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
        "`await apply_async(task, args, kwargs, countdown=..., queue=...)`"
        " (taskiq_durable.calling)",
        5,
    ),
    _construct(
        "signature",
        "signature (.s/.si/.signature)",
        S.CANVAS,
        "`sig(task, *args)`, `si(task, *args)` for `.si` (taskiq_durable.canvas)",
        15,
    ),
    _construct(
        "canvas",
        "chain/group/chord/|",
        S.CANVAS,
        "`apply_chain` / `apply_group` / `apply_chord` (taskiq_durable.canvas)",
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
        "revoke",
        "revoke",
        S.REVOKE,
        "`await revoke(broker.results, settings, task_id)` or `python -m tasks.revoke TASK_ID`",
        20,
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
        "the Procfile's `worker` line (`taskiq worker tasks.broker:broker tasks.registry`)",
        10,
    ),
    _construct(
        "beat-command",
        "celery beat command",
        S.ONE_SCHEDULER,
        "the Procfile's `scheduler` line (any number may run; each tick is sent once)",
        10,
    ),
    _construct(
        "diagnosis-tool",
        "celery inspect / flower",
        S.DIAGNOSIS,
        "`python -m tasks.inspect` and `GET /health`",
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
        "worker-loop",
        "event loop made or run in a worker signal",
        E,
        S.THE_FORK_PROBLEM,
        "drop the loop (and any thread running it): tasks are `async def` on the worker "
        "child's own loop, resources are built in WORKER_STARTUP",
        30,
    ),
    _hazard(
        "blocking-io",
        "blocking call in a task that runs on the event loop",
        W,
        S.DEFINING_TASKS,
        "an async client (`HttpClient` from `tasks/deps.py`) or `await asyncio.to_thread(...)`",
        15,
    ),
    _hazard(
        "process-pool-in-task",
        "process pool inside a task",
        E,
        S.THE_FORK_PROBLEM,
        "run CPU work through the worker child's CPU pool (`cpu: Cpu = TaskiqDepends()`, "
        "taskiq_durable.cpu_pool), not a pool forked inside a task",
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
        "set `time_limit` (and `soft_time_limit`) labels on every task",
        5,
    ),
    _hazard(
        "results-never-expire",
        "results never expire",
        W,
        S.RESULTS_AND_STATE,
        "results expire after `RESULT_TTL_SECONDS`",
        5,
    ),
    _hazard(
        "in-process-runner",
        "scheduler or worker inside another process",
        E,
        S.ONE_SCHEDULER,
        "run web, worker and scheduler as separate processes (any number of schedulers may run)",
        30,
    ),
    _hazard(
        "startup-one-time-work",
        "one-time work in a per-process startup hook",
        W,
        S.STARTUP_TASKS,
        "move it to the release step (`deploy/release.py`), run once per deploy",
        30,
    ),
    _hazard(
        "connection-budget",
        "pool sizes can exceed max_connections",
        E,
        S.CONNECTION_BUDGET,
        "size pools with `python -m core.db.pool_budget`: (max_connections × 0.9) / processes",
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


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rules_table() -> str:
    """The guide's table of what each finding becomes (docs/migration.md holds it verbatim,
    `tests/checker/test_guide_messages.py` keeps the two equal)."""
    rows = [
        "| Rule | Finding | Becomes | Section |",
        "|---|---|---|---|",
        *(
            f"| `{r.id}` | {_cell(r.title)} | {_cell(r.becomes)} "
            f"| [{r.section.title}](#{r.section.anchor}) |"
            for r in RULES.values()
        ),
    ]
    return "\n".join(rows) + "\n"
