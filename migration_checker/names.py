"""Resolve what a name in a module refers to, from its imports alone (nothing is imported)."""

import ast
import re
from collections.abc import Iterable
from pathlib import Path

__all__ = ["ImportTable", "ModuleNamer", "dotted", "imported_top_names", "module_name"]

_TOP_IMPORT = re.compile(r"^[ \t]*(?:from|import)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def module_name(rel_path: str) -> str:
    """`proj/tasks/__init__.py` → `proj.tasks`, `proj/db.py` → `proj.db`."""
    parts = rel_path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_top_names(text: str) -> set[str]:
    """First segments of the absolute imports in a file (`from app.worker import x` → app)."""
    return set(_TOP_IMPORT.findall(text))


class ModuleNamer:
    """The module path Python (and so Celery) gives a file: from the folder its top-level
    package sits in, not from the scan root. A folder with `__init__.py` is a package; one
    without is a namespace package only when the project imports it by name (`src/` is not,
    `app/` of `from app.worker import celery_app` is)."""

    def __init__(self, root: Path, namespaces: Iterable[str]) -> None:
        self._root = root
        self._namespaces = frozenset(namespaces)
        self._is_package: dict[Path, bool] = {}

    def _package(self, folder: Path) -> bool:
        known = self._is_package.get(folder)
        if known is None:
            known = (folder / "__init__.py").is_file() or folder.name in self._namespaces
            self._is_package[folder] = known
        return known

    def name(self, rel_path: str) -> str:
        parts = rel_path.split("/")
        folder = self._root
        start = 0
        # Walk down: the package root is the deepest folder whose children are not packages.
        for depth, segment in enumerate(parts[:-1]):
            if not self._package(folder / segment):
                start = depth + 1
            folder = folder / segment
        return module_name("/".join(parts[start:]))


def dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a Name/Attribute chain, None for anything else (calls, subscripts)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class ImportTable:
    """Local alias → fully qualified name, and the project modules a file imports."""

    def __init__(self, module: str, is_package: bool) -> None:
        self._package = module if is_package else module.rpartition(".")[0]
        self.aliases: dict[str, str] = {}
        self.imported: list[tuple[str, int]] = []

    def define(self, names: Iterable[str], module: str) -> None:
        """Top-level functions and classes of this module, so that calls to them qualify."""
        for name in names:
            self.aliases.setdefault(name, f"{module}.{name}")

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.partition(".")[0]
                self.aliases[local] = alias.name if alias.asname else local
                self.imported.append((alias.name, node.lineno))
            return
        base = self._absolute(node.module or "", node.level)
        self.imported.append((base, node.lineno))
        for alias in node.names:
            if alias.name == "*":
                continue
            full = f"{base}.{alias.name}" if base else alias.name
            self.aliases[alias.asname or alias.name] = full
            # `from pkg import submodule` imports a module too.
            self.imported.append((full, node.lineno))

    def _absolute(self, module: str, level: int) -> str:
        if level == 0:
            return module
        base = self._package.split(".") if self._package else []
        if level > 1:
            base = base[: len(base) - (level - 1)]
        return ".".join([*base, module] if module else base)

    def qualify(self, node: ast.expr) -> str | None:
        """The fully qualified dotted name of an expression, through the import aliases."""
        name = dotted(node)
        if name is None:
            return None
        head, _, tail = name.partition(".")
        full = self.aliases.get(head, head)
        return f"{full}.{tail}" if tail else full

    def imports_from(self, prefix: str) -> bool:
        return any(
            full == prefix or full.startswith(prefix + ".") for full in self.aliases.values()
        )
