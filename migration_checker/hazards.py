"""Hazards that need the whole project: what task modules import, which helpers tasks call,
whether any time limit is set globally, and the connection budget across processes."""

from collections import deque
from collections.abc import Iterable
from typing import Protocol

from migration_checker.facts import CallSite, FunctionFacts, ModuleFacts, TaskDef
from migration_checker.findings import Finding
from migration_checker.options import TIME_LIMIT_OPTIONS
from migration_checker.scripts import ScriptFacts

__all__ = ["Loader", "project_hazards"]

# How many calls below a task a hazard is still looked for, and how many re-exports a call is
# followed through: enough for helper → helper → loop, bounded on a large codebase.
MAX_DEPTH = 5
MAX_REEXPORTS = 3
# Folders whose engines never run next to the worker and web processes.
_NOT_DEPLOYED = ("test/", "tests/", "scripts/", "script/", "bin/", "examples/", "docs/")


class Loader(Protocol):
    def get(self, module: str) -> ModuleFacts | None: ...


# PostgreSQL's default when nothing in the project says otherwise.
DEFAULT_MAX_CONNECTIONS = 100
# Headroom kept for migrations, psql sessions and monitoring.
RESERVE = 0.1


def _import_closure(modules: list[ModuleFacts], loader: Loader) -> dict[str, str]:
    """Module path → the task module whose imports reach it (task modules map to themselves)."""
    reached = {m.path: m.path for m in modules if m.tasks}
    queue = deque(m for m in modules if m.tasks)
    while queue:
        current = queue.popleft()
        for name, _ in current.imports:
            target = loader.get(name)
            if target is not None and target.path not in reached:
                reached[target.path] = reached[current.path]
                queue.append(target)
    return reached


def _import_time_resources(modules: list[ModuleFacts], loader: Loader) -> list[Finding]:
    if not any(m.resources for m in modules):
        return []
    reached = _import_closure(modules, loader)
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


def _resolve(qualname: str, loader: Loader, hops: int = 0) -> FunctionFacts | None:
    """The function a qualified call names, through the module that defines it or the
    re-exports (`from .helpers import run`) on the way."""
    parts = qualname.split(".")
    for split in range(len(parts) - 1, 0, -1):
        facts = loader.get(".".join(parts[:split]))
        if facts is None:
            continue
        found = facts.functions.get(qualname)
        if found is not None:
            return found
        alias = facts.aliases.get(parts[split])
        target = ".".join([alias, *parts[split + 1 :]]) if alias else None
        if target and target != qualname and hops < MAX_REEXPORTS:
            return _resolve(target, loader, hops + 1)
        return None
    return None


def _reached_sites(task: TaskDef, loader: Loader) -> Iterable[tuple[CallSite, str, list[str]]]:
    """(site, path of the module holding it, the call chain from the task) for every hazard
    site the task reaches, at most MAX_DEPTH calls deep."""
    start = _resolve(task.qualname, loader) if task.qualname else None
    if start is None:
        return
    seen = {start.qualname}
    queue: deque[tuple[FunctionFacts, list[str]]] = deque([(start, [])])
    while queue:
        function, chain = queue.popleft()
        module = _owner(function, loader)
        for site in function.sites:
            yield site, module.path if module else task.path, chain
        if len(chain) >= MAX_DEPTH:
            continue
        for callee in sorted(function.calls):
            found = _resolve(callee, loader)
            if found is not None and found.qualname not in seen:
                seen.add(found.qualname)
                queue.append((found, [*chain, found.qualname.rpartition(".")[2]]))


def _owner(function: FunctionFacts, loader: Loader) -> ModuleFacts | None:
    """The module of a function (`pkg.mod.func`) or method (`pkg.mod.Class.method`)."""
    parts = function.qualname.split(".")
    for split in range(len(parts) - 1, 0, -1):
        facts = loader.get(".".join(parts[:split]))
        if facts is not None:
            return facts
    return None


def _becomes_async(task: TaskDef, loader: Loader) -> bool:
    """Async already, or a sync task that drives a loop itself: --fix makes it `async def`."""
    function = _resolve(task.qualname, loader) if task.qualname else None
    if function is None:
        return False
    return function.is_async or any(site.kind == "loop-bridge" for site in function.sites)


def _call_graph_hazards(modules: list[ModuleFacts], loader: Loader) -> list[Finding]:
    # (path, line, column, kind) → (site, tasks reaching it, the shortest chain seen)
    reached: dict[tuple[str, int, int, str], tuple[CallSite, list[str], list[str]]] = {}
    for facts in modules:
        for task in facts.tasks:
            async_task = _becomes_async(task, loader)
            for site, path, chain in _reached_sites(task, loader):
                if site.kind == "blocking-io" and not async_task:
                    continue
                key = (path, site.line, site.column, site.kind)
                known = reached.setdefault(key, (site, [], chain))
                known[1].append(task.func_name)
    findings = []
    for (path, _, _, kind), (site, tasks, chain) in reached.items():
        names = ", ".join(sorted(set(tasks)))
        where = f" via {' → '.join(chain)}()" if chain else ""
        if kind == "blocking-io":
            message = f"{site.what} blocks the worker's loop in async task(s) {names}{where}"
        else:
            message = f"{site.what} reached from task(s) {names}{where}"
        findings.append(Finding(kind, path, site.line, site.column, message, site.stmt_line))
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
        if _not_deployed(facts.path):
            continue
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


def _not_deployed(path: str) -> bool:
    name = path.rpartition("/")[2]
    in_folder = any(f"/{folder}" in f"/{path}" for folder in _NOT_DEPLOYED)
    return in_folder or name.startswith("test_") or name == "conftest.py"


def project_hazards(
    modules: list[ModuleFacts], scripts: ScriptFacts, loader: Loader
) -> list[Finding]:
    return [
        *_import_time_resources(modules, loader),
        *_call_graph_hazards(modules, loader),
        *_missing_time_limits(modules, scripts),
        *_connection_budget(modules, scripts),
    ]
