"""`get_settings()` (the environment, read once per process) is called only where a process
starts; everything else receives its settings, or the library's `DurableConfig`, from there.

The entry points:

- `tasks/broker.py`: the broker module every process imports (the worker's entry point; the
  web and the scheduler kick through it), and `app/main.py`, the web's ASGI app;
- `scheduler/__main__.py` (`python -m scheduler`), and every other command-line module: a
  `__main__.py`, or a module run with `python -m` (it has an `if __name__ == "__main__":`
  block), where the call sits in that block or in its `main()`;
- `migrations/env.py`, which Alembic runs, and `deploy/`, the release step and the launcher.

The library never calls it: it imports nothing of the stack (tests/architecture/test_contracts.py).
"""

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.processes import ROOT

SCANNED = (
    "app",
    "tasks",
    "scheduler",
    "core",
    "bench",
    "migration_checker",
    "migrations",
    "taskiq-durable/src",
)
ENTRY_MODULES = {"tasks/broker.py", "app/main.py", "scheduler/__main__.py", "migrations/env.py"}
ENTRY_FOLDERS = ("deploy/",)


def _is_main_guard(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
        and any(
            isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators
        )
    )


def _calls(node: ast.AST) -> Iterator[ast.Call]:
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Call)
            and isinstance(child.func, ast.Name | ast.Attribute)
            and (getattr(child.func, "id", None) or getattr(child.func, "attr", None))
            == "get_settings"
        ):
            yield child


def misplaced_calls(path: Path, relative: str) -> list[int]:
    """Lines of `get_settings()` calls in `path` that are not at a process's entry point."""
    tree = ast.parse(path.read_text(), str(path))
    calls = {call.lineno for call in _calls(tree)}
    if not calls or relative in ENTRY_MODULES or relative.startswith(ENTRY_FOLDERS):
        return []
    if path.name == "__main__.py":
        return []
    allowed: set[int] = set()
    for node in tree.body:
        is_cli_part = _is_main_guard(node) or (
            isinstance(node, ast.FunctionDef) and node.name == "main"
        )
        if is_cli_part:
            allowed |= {call.lineno for call in _calls(node)}
    has_guard = any(_is_main_guard(node) for node in tree.body)
    return sorted(calls - allowed) if has_guard else sorted(calls)


def test_get_settings_is_called_only_at_process_entry_points() -> None:
    found = []
    for folder in (*SCANNED, *ENTRY_FOLDERS):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            found += [f"{relative}:{line}" for line in misplaced_calls(path, relative)]
    assert found == [], "get_settings() outside an entry point (pass settings in):\n" + "\n".join(
        found
    )


def test_the_check_tells_entry_points_from_other_modules(tmp_path: Path) -> None:
    library_like = tmp_path / "service.py"
    library_like.write_text("from core.settings import get_settings\nX = get_settings()\n")
    cli = tmp_path / "cli.py"
    cli.write_text(
        "def helper():\n    return get_settings()\n\n"
        "def main():\n    return get_settings()\n\n"
        "if __name__ == '__main__':\n    get_settings()\n"
    )
    assert misplaced_calls(library_like, "core/service.py") == [2]
    assert misplaced_calls(cli, "tasks/cli.py") == [2]
    assert misplaced_calls(library_like, "tasks/broker.py") == []
