"""No private name of taskiq, taskiq-redis or redis-py is used by the library outside its
compatibility module (`taskiq_durable/compat.py`): such a name can change in any release.

Read from the library's source (AST) and the installed upstream packages:

- an import of a private name, or of a private module, of an upstream package;
- an attribute `_name` of an upstream module;
- in a class deriving from an upstream class: `self._name`, `cls._name`, `super()._name` or a
  method `_name` where an upstream class of its MRO defines `_name` (use or override);
- elsewhere, `obj._name` where `_name` is private to an upstream package and defined nowhere in
  the library (the library's own private names are its business).

A private name starts with `_` and is not a dunder.
"""

import ast
import importlib
import inspect
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import taskiq_durable

UPSTREAM = ("taskiq", "taskiq_redis", "taskiq_pipelines", "taskiq_dependencies", "redis")
LIBRARY = Path(taskiq_durable.__file__).parent
COMPAT = LIBRARY / "compat.py"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_upstream(module: str) -> bool:
    return module.split(".")[0] in UPSTREAM


def defined_names(tree: ast.AST) -> set[str]:
    """Private names a source defines: functions, classes, assigned names and attributes."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return {name for name in names if is_private(name)}


def _sources(root: Path) -> Iterator[Path]:
    yield from sorted(root.rglob("*.py"))


@cache
def upstream_private_names() -> frozenset[str]:
    names: set[str] = set()
    for package in UPSTREAM:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for path in _sources(root):
            names |= defined_names(ast.parse(path.read_text(), str(path)))
    return frozenset(names)


@cache
def library_private_names() -> frozenset[str]:
    names: set[str] = set()
    for path in _sources(LIBRARY):
        names |= defined_names(ast.parse(path.read_text(), str(path)))
    return frozenset(names)


@cache
def upstream_class_private_names(cls: type) -> frozenset[str]:
    names = {name for name in vars(cls) if is_private(name)}
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return frozenset(names)
    return frozenset(names | defined_names(ast.parse(source)))


def inherited_private_names(module: str, class_name: str) -> frozenset[str]:
    """Private names the upstream classes in the MRO of a library class define."""
    cls = getattr(importlib.import_module(module), class_name, None)
    if not isinstance(cls, type):
        return frozenset()
    names: set[str] = set()
    for base in cls.__mro__:
        if is_upstream(base.__module__):
            names |= upstream_class_private_names(base)
    return frozenset(names)


def module_name(path: Path) -> str:
    parts = path.relative_to(LIBRARY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class Finder(ast.NodeVisitor):
    def __init__(self, path: Path, module: str) -> None:
        self.path = path
        self.module = module
        self.upstream_modules: set[str] = set()  # local names bound to upstream modules
        self.inherited: list[frozenset[str]] = [frozenset()]
        self.found: list[str] = []

    def report(self, node: ast.AST, what: str) -> None:
        line = getattr(node, "lineno", 0)
        self.found.append(f"{self.path.name} ({self.module}):{line}: {what}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if is_upstream(alias.name):
                if any(is_private(part) for part in alias.name.split(".")):
                    self.report(node, f"import of private module {alias.name}")
                self.upstream_modules.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = node.module or ""
        if node.level or not is_upstream(source):
            return
        if any(is_private(part) for part in source.split(".")):
            self.report(node, f"import from private module {source}")
        for alias in node.names:
            if is_private(alias.name):
                self.report(node, f"import of private {source}.{alias.name}")
            elif inspect.ismodule(getattr(importlib.import_module(source), alias.name, None)):
                self.upstream_modules.add(alias.asname or alias.name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        # Top-level classes only are importable by name; nested ones inherit nothing upstream.
        inherited = (
            inherited_private_names(self.module, node.name)
            if len(self.inherited) == 1
            else frozenset()
        )
        self.inherited.append(inherited)
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name in inherited:
                self.report(item, f"override of upstream private {node.name}.{item.name}")
        self.generic_visit(node)
        self.inherited.pop()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name, owner = node.attr, node.value
        if is_private(name):
            if isinstance(owner, ast.Name) and owner.id in self.upstream_modules:
                self.report(node, f"private {owner.id}.{name}")
            elif _is_self(owner):
                if name in self.inherited[-1]:
                    self.report(node, f"upstream private attribute {name}")
            elif name in upstream_private_names() and name not in library_private_names():
                self.report(node, f"upstream private name {name}")
        self.generic_visit(node)


def _is_self(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in {"self", "cls"}
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def private_uses(path: Path, module: str) -> list[str]:
    finder = Finder(path, module)
    finder.visit(ast.parse(path.read_text(), str(path)))
    return finder.found


def test_no_private_upstream_name_outside_the_compat_module() -> None:
    found = [
        use
        for path in _sources(LIBRARY)
        if path != COMPAT
        for use in private_uses(path, module_name(path))
    ]
    assert found == [], "move these into taskiq_durable/compat.py:\n" + "\n".join(found)


def test_the_check_finds_each_kind_of_private_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = tmp_path / "private_probe.py"
    monkeypatch.syspath_prepend(str(tmp_path))
    probe.write_text(
        textwrap.dedent(
            """
            import taskiq.cli.utils as utils
            from taskiq.receiver.receiver import _QueueSignal
            from taskiq_redis import RedisStreamBroker, RedisAsyncResultBackend


            class Broker(RedisStreamBroker):
                async def _declare_consumer_group(self) -> None: ...

                def count(self) -> object:
                    return self.idle_timeout, self._declare_consumer_group


            def key(backend: RedisAsyncResultBackend) -> str:
                return backend._task_name("id"), utils._private_helper
            """
        )
    )
    found = "\n".join(private_uses(probe, "private_probe"))
    assert "import of private taskiq.receiver.receiver._QueueSignal" in found
    assert "override of upstream private Broker._declare_consumer_group" in found
    assert "upstream private attribute _declare_consumer_group" in found
    assert "upstream private name _task_name" in found
    assert "private utils._private_helper" in found
    assert "idle_timeout" not in found
