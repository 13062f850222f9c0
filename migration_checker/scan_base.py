"""State shared by the scanner's parts: where the visitor is, and how it records findings."""

import ast
from dataclasses import dataclass, field

from migration_checker.facts import (
    CallSite,
    FunctionFacts,
    FunctionNode,
    ModuleFacts,
    ProjectIndex,
    TaskDef,
)
from migration_checker.findings import Finding
from migration_checker.names import ImportTable, dotted

__all__ = ["TASK_DECORATORS", "FunctionScope", "ScanBase", "first_line", "int_value"]

DEFAULT_APP_NAMES = frozenset({"app", "celery_app", "celery"})
# `@app.task`, `@shared_task`, and Celery 3's `@periodic_task(run_every=...)`.
TASK_DECORATORS = frozenset({"task", "shared_task", "periodic_task"})


def first_line(node: ast.stmt) -> int:
    """A decorated definition starts at its first decorator, not at `def`."""
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        return min(int(d.lineno) for d in decorators)
    return node.lineno


def int_value(node: ast.expr | None) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


@dataclass(slots=True)
class FunctionScope:
    node: FunctionNode
    # The task or per-process startup hook this function belongs to, itself or by nesting.
    task: TaskDef | None
    # Names bound to Celery results here (from .delay(), .apply_async(), AsyncResult()).
    result_vars: set[str] = field(default_factory=set)
    startup_hook: str | None = None
    # The outermost function or method: calls and hazard sites are recorded on it.
    function: FunctionFacts | None = None


class ScanBase(ast.NodeVisitor):
    def __init__(self, facts: ModuleFacts, index: ProjectIndex, imports: ImportTable) -> None:
        self.facts = facts
        self.index = index
        self.imports = imports
        self.app_names = index.app_names | DEFAULT_APP_NAMES
        self.scopes: list[FunctionScope] = []
        # Enclosing classes: (name, derives from Celery).
        self.classes: list[tuple[str, bool]] = []
        # Module-level string constants, to resolve `CELERY_TIMEZONE = TIME_ZONE`.
        self.constants: dict[str, str] = {}
        self.stmt_line = 1

    def emit(self, rule_id: str, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0) + 1
        self.facts.findings.append(
            Finding(rule_id, self.facts.path, line, column, message, self.stmt_line)
        )

    def qualify(self, node: ast.expr) -> str:
        return self.imports.qualify(node) or ""

    @property
    def scope(self) -> FunctionScope | None:
        return self.scopes[-1] if self.scopes else None

    @property
    def task(self) -> TaskDef | None:
        """The task whose body (at any nesting depth) is being visited."""
        return self.scopes[-1].task if self.scopes else None

    @property
    def startup_hook(self) -> str | None:
        return self.scopes[-1].startup_hook if self.scopes else None

    def enter_function(self, node: FunctionNode, task: TaskDef | None, hook: str | None) -> None:
        """Nested functions inherit the task, startup hook and call-graph node they are in."""
        function = self.scopes[-1].function if self.scopes else None
        if function is None:
            owner = ".".join([self.facts.module, *(name for name, _ in self.classes), node.name])
            function = FunctionFacts(owner, isinstance(node, ast.AsyncFunctionDef))
            self.facts.functions[owner] = function
            if task is not None:
                task.qualname = owner
        self.scopes.append(
            FunctionScope(
                node, task or self.task, startup_hook=hook or self.startup_hook, function=function
            )
        )

    def record_site(self, kind: str, node: ast.expr, what: str) -> None:
        """A call that is a hazard when a task reaches it (hazards.py walks the call graph)."""
        function = self.scopes[-1].function if self.scopes else None
        if function is not None:
            site = CallSite(kind, what, node.lineno, node.col_offset + 1, self.stmt_line)
            function.sites.append(site)

    @property
    def in_app_class(self) -> bool:
        return bool(self.classes) and self.classes[-1][1]

    @property
    def in_async_function(self) -> bool:
        return bool(self.scopes) and isinstance(self.scopes[-1].node, ast.AsyncFunctionDef)

    def is_app(self, node: ast.expr) -> bool:
        """`app`, `worker.celery_app` (an attribute chain ending in an app's name), or `self`
        inside a Celery subclass."""
        name = dotted(node)
        if name is None:
            return False
        if name == "self":
            return self.in_app_class
        return name.rpartition(".")[2] in self.app_names

    def is_known_task(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.index.task_names
        return isinstance(node, ast.Attribute) and node.attr in self.index.task_names
