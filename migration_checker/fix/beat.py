"""Turn `beat_schedule` entries into `schedule=[...]` labels on the tasks they name.

Only literal schedules translate: `crontab(...)` with constant fields becomes a cron string,
a number of seconds or a constant `timedelta(...)` becomes an interval. Each label keeps the
entry's name as its fixed `schedule_id` (the key of the schedulers' shared state), and a cron
keeps Celery's timezone as `cron_offset` (the stack's own default is its TIMEZONE setting)."""

import ast
import json
from dataclasses import dataclass, field

from migration_checker.facts import BeatEntry, ModuleFacts, TaskDef

__all__ = ["BeatPlan", "plan_beat"]

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


def _label(entry: BeatEntry, segment: dict[str, str], tz: str) -> tuple[str | None, str]:
    schedule_node = None
    extras: list[str] = []
    for key, value in zip(entry.value.keys, entry.value.values, strict=True):
        name = key.value if isinstance(key, ast.Constant) else None
        if name == "schedule":
            schedule_node = value
        elif name in {"args", "kwargs"}:
            # Labels travel as JSON: a tuple of args is written as the list it becomes.
            text = segment[name]
            if isinstance(value, ast.Tuple):
                text = "[" + ", ".join(ast.unparse(e) for e in value.elts) + "]"
            extras.append(f'"{name}": {text}')
        elif name not in {"task", None}:
            return None, f"entry {entry.name!r}: option {name!r} needs a decision"
    schedule = _schedule(schedule_node) if schedule_node is not None else None
    if schedule is None:
        return None, f"entry {entry.name!r}: schedule is not a literal crontab/interval"
    kind, when = schedule
    trigger = [f'"cron": "{when}"', f'"cron_offset": {json.dumps(tz)}']
    if kind == "interval":
        trigger = [f'"interval": {when}']
    fields = [*trigger, *extras, f'"schedule_id": {json.dumps(entry.name)}']
    return "{" + ", ".join(fields) + "}", ""


def _find_task(name: str, tasks: list[TaskDef]) -> TaskDef | None:
    exact = [t for t in tasks if t.celery_name == name]
    if exact:
        return exact[0]
    by_function = [t for t in tasks if t.func_name == name.rpartition(".")[2]]
    return by_function[0] if len(by_function) == 1 else None


def plan_beat(modules: list[ModuleFacts], task_names: frozenset[str]) -> BeatPlan:
    """`task_names` holds every task function, Celery or already TaskIQ: an entry whose task
    was migrated by an earlier --fix needs nothing more."""
    plan = BeatPlan()
    tasks = [task for facts in modules for task in facts.tasks]
    tz = next((f.timezone for f in modules if f.timezone), CELERY_TIMEZONE)
    for facts in modules:
        todos: list[str] = []
        moved: list[str] = []
        for entry in facts.beat_entries:
            task = _find_task(entry.task, tasks)
            segment = {
                str(k.value): ast.get_source_segment(facts.source, v) or ""
                for k, v in zip(entry.value.keys, entry.value.values, strict=True)
                if isinstance(k, ast.Constant)
            }
            label, reason = _label(entry, segment, tz)
            if task is None and entry.task.rpartition(".")[2] in task_names:
                continue
            if task is None:
                todos.append(f"beat entry {entry.name!r}: task {entry.task!r} not found")
            elif label is None:
                todos.append(reason)
            else:
                plan.labels.setdefault((task.path, task.line), []).append(label)
                moved.append(entry.name)
        if moved:
            todos.insert(
                0,
                f"beat entries {', '.join(moved)} are now schedule labels on their "
                "tasks; delete them once `taskiq scheduler` runs",
            )
        if todos:
            plan.todos[(facts.path, facts.beat_assign_line)] = todos
    return plan
