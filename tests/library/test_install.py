"""`pip install ./taskiq-durable` into a fresh virtualenv, and its built wheel, stand on their own.

Each install goes into a venv outside this repository; every module of the installed package is
imported there in isolated mode, and none of the stack's packages (`app`, `tasks`, `scheduler`,
`core`) may be among the modules that imports loads, nor a socket be opened by importing.
"""

import ast
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest
import taskiq_durable

from tests.library.external_venv import (
    LIBRARY_SOURCE,
    STACK_PACKAGES,
    Venv,
    build_wheel,
    create_venv,
    library_requirement,
    lock_constraints,
)

pytestmark = pytest.mark.slow  # builds and installs into virtualenvs: seconds

SQL_MODULE = "taskiq_durable.dead_letters.sql"

# Imports every module of the installed package (namespace folders included: pkgutil would skip
# them), and every public name of `taskiq_durable`, then reports what was loaded.
IMPORT_EVERYTHING = textwrap.dedent(
    f"""
    import importlib, json, pathlib, sys

    connects = []
    sys.addaudithook(
        lambda event, args: connects.append(repr(args)) if event == "socket.connect" else None
    )

    import taskiq_durable

    root = pathlib.Path(taskiq_durable.__file__).parent
    modules = sorted(
        ".".join(("taskiq_durable", *path.relative_to(root).with_suffix("").parts))
        .removesuffix(".__init__")
        for path in root.rglob("*.py")
    )
    failed = {{}}
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            failed[name] = f"{{type(exc).__name__}}: {{exc}}"
    unexported = {{}}
    for name in taskiq_durable.__all__:
        try:
            getattr(taskiq_durable, name)
        except ImportError as exc:
            unexported[name] = str(exc)
    stack = sorted(m for m in sys.modules if m.partition(".")[0] in {sorted(STACK_PACKAGES)!r})
    print(json.dumps({{
        "file": taskiq_durable.__file__,
        "modules": modules,
        "failed": failed,
        "unexported": unexported,
        "stack": stack,
        "connects": connects,
        "typed": (root / "py.typed").exists(),
    }}))
    """
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(LIBRARY_SOURCE).with_suffix("").parts
    return ".".join(("taskiq_durable", *parts)).removesuffix(".__init__")


def source_modules() -> list[str]:
    """The modules of the checkout's library: an install must carry every one of them."""
    return sorted(_module_name(path) for path in LIBRARY_SOURCE.rglob("*.py"))


def _imported_at_load(path: Path) -> set[str]:
    """What a module imports when it is loaded: its top-level imports (not TYPE_CHECKING ones,
    nor imports inside functions), with every parent package they load too."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return {".".join(name.split(".")[:n]) for name in names for n in range(1, name.count(".") + 2)}


def modules_needing(dependency: str) -> set[str]:
    """The library's modules that can't load without `dependency`: those importing it, those
    importing one of them, and the modules inside a package that can't load."""
    imports = {_module_name(path): _imported_at_load(path) for path in LIBRARY_SOURCE.rglob("*.py")}
    needing: set[str] = set()
    while True:
        grown = {
            module
            for module, names in imports.items()
            if dependency in names
            or names & needing
            or any(module.startswith(f"{package}.") for package in needing)
        }
        if grown == needing:
            return needing
        needing = grown


def import_everything(venv: Venv, cwd: Path) -> dict[str, Any]:
    report = venv.run_json(IMPORT_EVERYTHING, cwd=cwd)
    assert isinstance(report, dict)
    # The installed copy, not the checkout's source tree.
    assert Path(str(report["file"])).is_relative_to(venv.path), report["file"]
    assert report["modules"] == source_modules()
    assert report["stack"] == []
    assert report["connects"] == []
    assert report["typed"] is True
    return report


@pytest.fixture(scope="module")
def constraints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lock_constraints(tmp_path_factory.mktemp("constraints"))


def test_path_install_imports_nothing_of_the_stack(tmp_path: Path, constraints: Path) -> None:
    venv = create_venv(tmp_path / "venv", constraints)
    venv.install(library_requirement())

    base = import_everything(venv, tmp_path)
    # Without the `sql` extra only what is built on SQLAlchemy is out of reach (the SQL
    # dead-letter store, the outbox), and says why; the broker, the receiver, revoke, the
    # scheduler... all load.
    needing_sql = modules_needing("sqlalchemy")
    assert SQL_MODULE in needing_sql
    assert not needing_sql & {"taskiq_durable.broker", "taskiq_durable.receiver"}
    missing = "ModuleNotFoundError: No module named 'sqlalchemy'"
    assert base["failed"] == dict.fromkeys(sorted(needing_sql), missing)
    # A public name built on SQL names the extra to install; every other one resolves.
    assert set(base["unexported"]) == {
        name for name, module in taskiq_durable._EXPORTS.items() if module in needing_sql
    }
    assert all("pip install 'taskiq-durable[sql]'" in e for e in base["unexported"].values())

    venv.install(library_requirement("sql"))
    with_sql = import_everything(venv, tmp_path)
    assert (with_sql["failed"], with_sql["unexported"]) == ({}, {})


def test_built_wheel_installs_and_imports(tmp_path: Path, constraints: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    # The library and its metadata, nothing else of the repository.
    assert {name.split("/")[0] for name in names} == {
        "taskiq_durable",
        wheel.name.removesuffix("-py3-none-any.whl") + ".dist-info",
    }
    venv = create_venv(tmp_path / "venv", constraints)
    venv.install(f"{wheel}[sql]")
    report = import_everything(venv, tmp_path)
    assert (report["failed"], report["unexported"]) == ({}, {})
