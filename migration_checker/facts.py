"""What a scan learns about a module beyond its findings: the facts that cross-file hazards
(import closure, connection budget, time limits) and `--fix` need."""

import ast
from dataclasses import dataclass, field

from migration_checker.findings import Finding

__all__ = ["BeatEntry", "EngineSpec", "ModuleFacts", "ProjectIndex", "Resource", "TaskDef"]

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True, slots=True)
class ProjectIndex:
    """Pass-one knowledge: which names are Celery apps and tasks anywhere in the project."""

    app_names: frozenset[str] = frozenset()
    task_names: frozenset[str] = frozenset()


@dataclass(slots=True)
class TaskDef:
    func_name: str
    celery_name: str
    path: str
    node: FunctionNode
    decorator: ast.expr
    options: dict[str, ast.expr]
    calls: set[str] = field(default_factory=set)

    @property
    def line(self) -> int:
        return self.node.lineno


@dataclass(frozen=True, slots=True)
class BeatEntry:
    """One `beat_schedule` entry: the dict key, its value node and the task it names."""

    name: str
    task: str
    value: ast.Dict
    line: int


@dataclass(frozen=True, slots=True)
class EngineSpec:
    line: int
    column: int
    stmt_line: int
    pool_size: int
    max_overflow: int


@dataclass(frozen=True, slots=True)
class Resource:
    """An engine, async Redis client or event loop created while the module is imported."""

    what: str
    line: int
    column: int
    stmt_line: int


@dataclass(slots=True)
class ModuleFacts:
    path: str
    module: str
    source: str
    tree: ast.Module
    findings: list[Finding] = field(default_factory=list)
    tasks: list[TaskDef] = field(default_factory=list)
    imports: list[tuple[str, int]] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    # Top-level function name → (line, column, stmt_line) of the loop call inside it.
    loop_helpers: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    engines: list[EngineSpec] = field(default_factory=list)
    settings: set[str] = field(default_factory=set)
    beat_entries: list[BeatEntry] = field(default_factory=list)
    beat_assign_line: int = 0
    # Celery's `timezone` setting when it is a literal: beat's crontabs run in it.
    timezone: str | None = None
