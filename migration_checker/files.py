"""Which files a scan reads: Python sources, and the scripts that start processes."""

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SKIPPED_DIRS", "SourceFile", "iter_sources"]

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "site-packages",
        "build",
        "dist",
        ".eggs",
    }
)

# Process launchers: Procfiles, Compose files, shell entrypoints, Dockerfiles, supervisor.
_SCRIPT_NAME = re.compile(
    r"^(Procfile(\..+)?|(docker-)?compose.*\.ya?ml|.*\.(sh|bash)|Dockerfile.*|Makefile"
    r"|supervisord?\.conf|.*\.service|entrypoint)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    rel: str
    is_python: bool


def _is_script(path: Path) -> bool:
    if _SCRIPT_NAME.match(path.name):
        return True
    if path.suffix:
        return False
    # Extensionless entrypoints are recognised by their shebang.
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except OSError:
        return False
    return head.startswith(b"#!") and b"sh" in head.split(b"\n", 1)[0]


def iter_sources(root: Path) -> Iterator[SourceFile]:
    """Files under `root` (or `root` itself), in a stable order, skipping tool/vendor dirs."""
    if root.is_file():
        yield SourceFile(root, root.name, root.suffix == ".py")
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIPPED_DIRS and not d.endswith(".egg-info")
        )
        for name in sorted(filenames):
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if name.endswith(".py"):
                yield SourceFile(path, rel, True)
            elif _is_script(path):
                yield SourceFile(path, rel, False)
