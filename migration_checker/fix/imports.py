"""Imports after a rewrite: drop Celery imports only the rewritten decorators used, and add
the TaskIQ names the new code refers to."""

import ast
from collections import Counter

from migration_checker.fix.source import EditableSource

__all__ = ["fix_imports"]

TODO_BROKER = (
    "# TODO(migrate): import the TaskIQ broker as `broker` (docs/migration.md#app-and-config)"
)


def _insertion_line(tree: ast.Module) -> int:
    """The line after the leading docstring/import block."""
    line = 1
    for node in tree.body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if isinstance(node, ast.Import | ast.ImportFrom) or (is_docstring and line == 1):
            line = (node.end_lineno or node.lineno) + 1
        else:
            break
    return line


def _drop_unused(source: EditableSource, tree: ast.Module, rewritten: Counter[str]) -> None:
    """Delete `from x import name` statements whose names are now unused everywhere."""
    uses = Counter(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    defined = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        names = [alias.asname or alias.name for alias in node.names]
        if all(
            name in rewritten and name not in defined and uses[name] == rewritten[name]
            for name in names
        ):
            source.delete_lines(node.lineno, node.end_lineno or node.lineno)


def fix_imports(
    source: EditableSource,
    tree: ast.Module,
    rewritten: Counter[str],
    broker_import: str | None,
    needs_context: bool,
) -> None:
    """`rewritten` counts the decorator names (`app`, `shared_task`) replaced by `broker`."""
    _drop_unused(source, tree, rewritten)
    line = _insertion_line(tree)
    lines: list[str] = []
    if needs_context:
        lines.append("from taskiq import Context, TaskiqDepends")
    if broker_import:
        module, _, name = broker_import.partition(":")
        alias = "" if name in {"", "broker"} else " as broker"
        lines.append(f"from {module} import {name or 'broker'}{alias}")
    else:
        lines.append(TODO_BROKER)
    for text in lines:
        source.insert_line_before(line, text)
