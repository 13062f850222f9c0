"""Imports after a rewrite: drop Celery imports only the rewritten decorators used, and add
the names the new code refers to (taskiq, the stack's helpers, the broker), only where used."""

import ast
from collections import Counter

from migration_checker.fix.decorators import BROKER_NAME
from migration_checker.fix.source import EditableSource
from migration_checker.fix.target import Import

__all__ = ["fix_imports", "import_lines"]


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


def import_lines(imports: set[Import], broker_import: str | None) -> list[str]:
    """`from module import a, b` lines for `imports`, then the broker's when given."""
    by_module: dict[str, set[str]] = {}
    for item in imports:
        by_module.setdefault(item.module, set()).add(item.name)
    lines = [
        f"from {module} import {', '.join(sorted(names))}"
        for module, names in sorted(by_module.items())
    ]
    if broker_import is not None:
        module, _, name = broker_import.partition(":")
        alias = "" if name == BROKER_NAME else f" as {BROKER_NAME}"
        lines.append(f"from {module} import {name}{alias}")
    return lines


def fix_imports(
    source: EditableSource,
    tree: ast.Module,
    rewritten: Counter[str],
    imports: set[Import],
    broker_import: str | None,
) -> None:
    """`rewritten` counts the decorator names (`app`, `shared_task`) replaced by `broker`;
    `broker_import` is None in a file that defines no task."""
    _drop_unused(source, tree, rewritten)
    line = _insertion_line(tree)
    for text in import_lines(imports, broker_import):
        source.insert_line_before(line, text)
