"""What a scan learns about a module beyond its findings: the facts that cross-file hazards
(import closure, connection budget, time limits) and `--fix` need."""

import ast
from dataclasses import dataclass, field

from migration_checker.findings import Finding

__all__ = [
    "BeatEntry",
    "CallSite",
    "EngineSpec",
    "FunctionFacts",
    "ModuleFacts",
    "ProjectIndex",
    "Resource",
    "TaskDef",
]

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True, slots=True)
class ProjectIndex:
    """Pass-one knowledge: which names are Celery apps and tasks anywhere in the project."""

    # Names bound to a Celery app: `Celery(...)`, a subclass, or a factory's result.
    app_names: frozenset[str] = frozenset()
    task_names: frozenset[str] = frozenset()
    # Classes deriving from Celery (their `self.conf` is the app's configuration).
    app_classes: frozenset[str] = frozenset()
    # `config_from_object(..., namespace="CELERY")`: the prefixes settings are read under.
    namespaces: frozenset[str] = frozenset()


@dataclass(slots=True)
class TaskDef:
    func_name: str
    celery_name: str
    path: str
    node: FunctionNode
    decorator: ast.expr
    options: dict[str, ast.expr]
    qualname: str = ""

    @property
    def line(self) -> int:
        return self.node.lineno


@dataclass(frozen=True, slots=True)
class BeatEntry:
    """One scheduled run: a `beat_schedule` entry, `add_periodic_task(...)` or
    `@periodic_task(run_every=...)`. `task` is the Celery name (or the function name, for the
    last two); `options` names the options that have no label; `todo_line` is where a TODO
    about the entry goes."""

    name: str
    task: str
    schedule: ast.expr | None
    args: ast.expr | None
    kwargs: ast.expr | None
    options: tuple[str, ...]
    line: int
    todo_line: int
    # `@periodic_task`: the schedule is on the task already, nothing to delete after --fix.
    inline: bool = False


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call that is a hazard when a task reaches it: `kind` is a rule id."""

    kind: str
    what: str
    line: int
    column: int
    stmt_line: int


@dataclass(slots=True)
class FunctionFacts:
    """A top-level function or method (nested functions count as their outer function):
    the qualified names it calls and the hazardous calls in its body."""

    qualname: str
    is_async: bool
    calls: set[str] = field(default_factory=set)
    sites: list[CallSite] = field(default_factory=list)


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
    # Local name → qualified name, for resolving calls through re-exports.
    aliases: dict[str, str] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    engines: list[EngineSpec] = field(default_factory=list)
    settings: set[str] = field(default_factory=set)
    beat_entries: list[BeatEntry] = field(default_factory=list)
    # Celery's `timezone` setting: beat's crontabs run in it. `timezone_source` is the
    # expression when it is not a literal the checker could resolve.
    timezone: str | None = None
    timezone_source: str | None = None
    # Django's TIME_ZONE: Celery's default timezone in a Django project.
    django_time_zone: str | None = None
    # Parsed with the newer grammar (parsing.py): validated the same way after --fix.
    lowered: bool = False
