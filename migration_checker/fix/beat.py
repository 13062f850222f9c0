"""Turn `beat_schedule` entries into `schedule=[...]` labels on the tasks they name.

Only literal schedules translate: `crontab(...)` with constant fields becomes a cron string,
a number of seconds or a constant `timedelta(...)` becomes an interval. Each label keeps the
entry's name as its fixed `schedule_id` (the key of the schedulers' shared state), and a cron
keeps Celery's timezone as `cron_offset` (the stack's own default is its TIMEZONE setting).
Entries come from `beat_schedule`, `add_periodic_task(...)` and `@periodic_task(run_every=)`."""

import ast
import json
from dataclasses import dataclass, field

from migration_checker.facts import BeatEntry, ModuleFacts, TaskDef

__all__ = ["BeatPlan", "Timezone", "plan_beat", "project_timezone"]

_CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
_CRON_ORDER = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
CELERY_TIMEZONE = "UTC"  # Celery's default `timezone`
_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


@dataclass(slots=True)
class BeatPlan:
    # (task path, task line) → label entries (Python source of dicts).
    labels: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    # (module path, beat assignment line) → TODO texts.
    todos: dict[tuple[str, int], list[str]] = field(default_factory=dict)


def _constant_fields(call: ast.Call, names: tuple[str, ...]) -> dict[str, str | float] | None:
    values: dict[str, str | float] = {}
    pairs = [*zip(names, call.args, strict=False), *((kw.arg, kw.value) for kw in call.keywords)]
    for name, node in pairs:
        if name is None or not isinstance(node, ast.Constant):
            return None
        if not isinstance(node.value, str | int | float) or isinstance(node.value, bool):
            return None
        values[name] = node.value
    return values


def _schedule(node: ast.expr) -> tuple[str, str] | None:
    """("cron", "*/30 * * * *") or ("interval", "3600"), or None when not literal."""
    seconds: float
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        seconds = float(node.value)
    elif isinstance(node, ast.Call):
        callee = getattr(node.func, "id", getattr(node.func, "attr", ""))
        fields = _constant_fields(node, _CRONTAB_FIELDS if callee == "crontab" else ("days",))
        if fields is None:
            return None
        if callee == "crontab":
            return "cron", " ".join(str(fields.get(key, "*")) for key in _CRON_ORDER)
        if callee != "timedelta" or not set(fields) <= _SECONDS.keys():
            return None
        if any(isinstance(v, str) for v in fields.values()):
            return None
        seconds = sum(float(v) * _SECONDS[k] for k, v in fields.items())
    else:
        return None
    return ("interval", str(int(seconds))) if seconds == int(seconds) and seconds >= 1 else None


@dataclass(frozen=True, slots=True)
class Timezone:
    """Celery's `timezone` (Django's TIME_ZONE when unset there, UTC otherwise), or the
    expression it is set from when that is not a literal."""

    name: str | None
    source: str = ""


def _args_text(node: ast.expr | None, source: str) -> str | None:
    """Labels travel as JSON: a tuple of args is written as the list it becomes."""
    if node is None:
        return None
    if isinstance(node, ast.Tuple):
        return "[" + ", ".join(ast.unparse(e) for e in node.elts) + "]"
    return ast.get_source_segment(source, node) or ast.unparse(node)


def _label(entry: BeatEntry, source: str, tz: Timezone) -> tuple[str | None, str]:
    if entry.options:
        return None, f"entry {entry.name!r}: option {entry.options[0]!r} needs a decision"
    schedule = _schedule(entry.schedule) if entry.schedule is not None else None
    if schedule is None:
        return None, f"entry {entry.name!r}: schedule is not a literal crontab/interval"
    kind, when = schedule
    if kind == "cron" and tz.name is None:
        return None, (
            f"entry {entry.name!r}: Celery's timezone is {tz.source}, not a literal: "
            "set the cron_offset label to the zone it names"
        )
    trigger = [f'"interval": {when}']
    if kind == "cron":
        trigger = [f'"cron": "{when}"', f'"cron_offset": {json.dumps(tz.name)}']
    extras = [
        f'"{name}": {text}'
        for name, text in (
            ("args", _args_text(entry.args, source)),
            ("kwargs", _args_text(entry.kwargs, source)),
        )
        if text is not None
    ]
    fields = [*trigger, *extras, f'"schedule_id": {json.dumps(entry.name)}']
    return "{" + ", ".join(fields) + "}", ""


def project_timezone(modules: list[ModuleFacts]) -> Timezone:
    for facts in modules:
        if facts.timezone:
            return Timezone(facts.timezone)
        if facts.timezone_source:
            return Timezone(None, facts.timezone_source)
    django = next((f.django_time_zone for f in modules if f.django_time_zone), None)
    return Timezone(django or CELERY_TIMEZONE)


def _find_task(name: str, tasks: list[TaskDef]) -> TaskDef | None:
    exact = [t for t in tasks if t.celery_name == name]
    if exact:
        return exact[0]
    by_function = [t for t in tasks if t.func_name == name.rpartition(".")[2]]
    return by_function[0] if len(by_function) == 1 else None


def plan_beat(modules: list[ModuleFacts], task_names: frozenset[str]) -> BeatPlan:
    """`task_names` holds every task function, Celery or already TaskIQ: an entry whose task
    is no Celery task but one of those was migrated by an earlier --fix and needs nothing."""
    plan = BeatPlan()
    tasks = [task for facts in modules for task in facts.tasks]
    celery_functions = {task.func_name for task in tasks}
    tz = project_timezone(modules)
    for facts in modules:
        moved: dict[int, list[str]] = {}
        for entry in facts.beat_entries:
            task = _find_task(entry.task, tasks)
            function = entry.task.rpartition(".")[2]
            if task is None and function in task_names and function not in celery_functions:
                continue
            label, reason = _label(entry, facts.source, tz)
            if task is None:
                task_name = entry.task or "?"
                reason = f"beat entry {entry.name!r}: task {task_name!r} not found, or not one"
            if label is None or task is None:
                plan.todos.setdefault((facts.path, entry.todo_line), []).append(reason)
                continue
            plan.labels.setdefault((task.path, task.line), []).append(label)
            if not entry.inline:
                moved.setdefault(entry.todo_line, []).append(entry.name)
        for line, names in moved.items():
            plan.todos.setdefault((facts.path, line), []).insert(
                0,
                f"beat entries {', '.join(names)} are now schedule labels on their "
                "tasks; delete them once `taskiq scheduler` runs",
            )
    return plan
