"""State shared by the scanner's parts: where the visitor is, and how it records findings."""

import ast
from dataclasses import dataclass, field

from migration_checker.facts import FunctionNode, ModuleFacts, ProjectIndex, TaskDef
from migration_checker.findings import Finding
from migration_checker.names import ImportTable

__all__ = ["FunctionScope", "ScanBase", "first_line", "int_value"]

DEFAULT_APP_NAMES = frozenset({"app", "celery_app", "celery"})


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


class ScanBase(ast.NodeVisitor):
    def __init__(self, facts: ModuleFacts, index: ProjectIndex, imports: ImportTable) -> None:
        self.facts = facts
        self.index = index
        self.imports = imports
        self.app_names = index.app_names | DEFAULT_APP_NAMES
        self.scopes: list[FunctionScope] = []
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
        """Nested functions inherit the task and startup hook they are defined in."""
        self.scopes.append(
            FunctionScope(node, task or self.task, startup_hook=hook or self.startup_hook)
        )

    @property
    def in_async_function(self) -> bool:
        return bool(self.scopes) and isinstance(self.scopes[-1].node, ast.AsyncFunctionDef)

    def is_app(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.app_names

    def is_known_task(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.index.task_names
        return isinstance(node, ast.Attribute) and node.attr in self.index.task_names
