"""Hazards that need the whole project: what task modules import, which helpers tasks call,
whether any time limit is set globally, and the connection budget across processes."""

from collections import deque
from collections.abc import Iterable

from migration_checker.facts import ModuleFacts
from migration_checker.findings import Finding
from migration_checker.options import TIME_LIMIT_OPTIONS
from migration_checker.scripts import ScriptFacts

__all__ = ["project_hazards"]

# PostgreSQL's default when nothing in the project says otherwise.
DEFAULT_MAX_CONNECTIONS = 100
# Headroom kept for migrations, psql sessions and monitoring.
RESERVE = 0.1


def _module_index(modules: Iterable[ModuleFacts]) -> dict[str, ModuleFacts]:
    """Every dotted suffix of a module's name → the module, so `from db import x` resolves
    whether the scan root is the project root or a folder above it."""
    index: dict[str, ModuleFacts] = {}
    for facts in modules:
        parts = facts.module.split(".")
        for start in range(len(parts)):
            index.setdefault(".".join(parts[start:]), facts)
    return index


def _import_closure(modules: list[ModuleFacts]) -> dict[str, str]:
    """Module path → the task module whose imports reach it (task modules map to themselves)."""
    index = _module_index(modules)
    reached = {m.path: m.path for m in modules if m.tasks}
    queue = deque(m for m in modules if m.tasks)
    while queue:
        current = queue.popleft()
        for name, _ in current.imports:
            target = index.get(name)
            if target is not None and target.path not in reached:
                reached[target.path] = reached[current.path]
                queue.append(target)
    return reached


def _import_time_resources(modules: list[ModuleFacts]) -> list[Finding]:
    reached = _import_closure(modules)
    findings = []
    for facts in modules:
        origin = reached.get(facts.path)
        if origin is None:
            continue
        via = "in a task module" if origin == facts.path else f"imported by task module {origin}"
        for res in facts.resources:
            message = f"{res.what} created at import time, {via}: inherited across fork"
            findings.append(
                Finding(
                    "module-async-resource",
                    facts.path,
                    res.line,
                    res.column,
                    message,
                    res.stmt_line,
                )
            )
    return findings


def _loop_helpers(modules: list[ModuleFacts]) -> list[Finding]:
    callers: dict[str, list[str]] = {}
    for facts in modules:
        for task in facts.tasks:
            for name in task.calls:
                callers.setdefault(name, []).append(task.func_name)
    findings = []
    for facts in modules:
        for helper, (line, column, stmt_line) in facts.loop_helpers.items():
            if helper in callers:
                tasks = ", ".join(sorted(set(callers[helper])))
                message = f"{helper}() drives an event loop and is called by task(s) {tasks}"
                findings.append(
                    Finding("loop-bridge", facts.path, line, column, message, stmt_line)
                )
    return findings


def _missing_time_limits(modules: list[ModuleFacts], scripts: ScriptFacts) -> list[Finding]:
    globally = scripts.time_limit_flag or any(
        {"task_time_limit", "task_soft_time_limit"} & m.settings for m in modules
    )
    if globally:
        return []
    return [
        Finding(
            "no-time-limit",
            task.path,
            task.line,
            task.node.col_offset + 1,
            f"task {task.func_name} has no time_limit and no global task_time_limit",
            task.decorator.lineno,
        )
        for facts in modules
        for task in facts.tasks
        if not TIME_LIMIT_OPTIONS & task.options.keys()
    ]


def _connection_budget(modules: list[ModuleFacts], scripts: ScriptFacts) -> list[Finding]:
    limit = scripts.max_connections or DEFAULT_MAX_CONNECTIONS
    processes = max(scripts.processes, 1)
    usable = int(limit * (1 - RESERVE))
    per_process = max(usable // processes, 1)
    counted = ", ".join(scripts.process_notes) or "no launcher found: 1 process assumed"
    findings = []
    for facts in modules:
        for engine in facts.engines:
            capacity = engine.pool_size + engine.max_overflow
            if processes * capacity <= limit:
                continue
            message = (
                f"{processes} processes × (pool_size {engine.pool_size} + max_overflow "
                f"{engine.max_overflow}) = {processes * capacity} > max_connections {limit} "
                f"[{counted}]; budget {per_process} per process"
            )
            findings.append(
                Finding(
                    "connection-budget",
                    facts.path,
                    engine.line,
                    engine.column,
                    message,
                    engine.stmt_line,
                )
            )
    return findings


def project_hazards(modules: list[ModuleFacts], scripts: ScriptFacts) -> list[Finding]:
    return [
        *_import_time_resources(modules),
        *_loop_helpers(modules),
        *_missing_time_limits(modules, scripts),
        *_connection_budget(modules, scripts),
    ]
