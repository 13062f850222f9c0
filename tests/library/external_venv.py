"""Fresh virtualenvs outside this repository, with taskiq-durable installed from the checkout.

What an adopter gets from `pip install ./taskiq-durable`: the tests run code in these with
`python -I` (no PYTHONPATH, no current directory on `sys.path`), from a directory outside the
checkout, so nothing of this repository but the installed library can be imported.

Installs go through uv (`.tools/bin/uv`, as `make install` sets it up), constrained to the
versions in this repository's `uv.lock`: what the rest of the suite runs with, and what uv's
cache already holds.
"""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import ROOT

LIBRARY = ROOT / "taskiq-durable"
LIBRARY_SOURCE = LIBRARY / "src" / "taskiq_durable"
# The stack's packages: the library must never import them.
STACK_PACKAGES = frozenset({"app", "tasks", "scheduler", "core"})


def uv() -> str:
    local = ROOT / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if found is None:
        raise AssertionError("uv is needed: run `make install` (it installs uv into .tools/)")
    return found


def _uv_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_"))}
    return env | {"UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}


def run_uv(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [uv(), *args], cwd=cwd, env=_uv_env(), capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise AssertionError(f"uv {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def lock_constraints(directory: Path) -> Path:
    """This repository's locked versions, as a constraints file for `uv pip install -c`."""
    exported = subprocess.run(
        [uv(), "export", "--frozen", "--no-hashes", "--no-emit-workspace", "--no-dev"],
        cwd=ROOT,
        env=_uv_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    path = directory / "constraints.txt"
    path.write_text(exported)
    return path


def library_requirement(extras: str = "") -> str:
    """The checkout's library as a requirement, with `extras` ("sql")."""
    return f"taskiq-durable{f'[{extras}]' if extras else ''} @ {LIBRARY.as_uri()}"


def build_wheel(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    run_uv("build", "--wheel", "--out-dir", str(directory), str(LIBRARY), cwd=directory)
    (wheel,) = directory.glob("taskiq_durable-*.whl")
    return wheel


@dataclass(frozen=True)
class Venv:
    path: Path
    constraints: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    def install(self, *requirements: str) -> None:
        # A local directory is rebuilt only when its pyproject.toml changes, unless refreshed:
        # without this, an edit to a module would be tested against yesterday's build.
        run_uv(
            "pip",
            "install",
            "--python",
            str(self.python),
            "--refresh-package",
            "taskiq-durable",
            "-c",
            str(self.constraints),
            *requirements,
            cwd=self.path.parent,
        )

    def run_json(self, code: str, *, cwd: Path, env: dict[str, str] | None = None) -> object:
        """Run `code` in isolated mode in this venv; it prints one JSON value as its last line."""
        done = subprocess.run(
            [str(self.python), "-I", "-c", code],
            cwd=cwd,
            env=env or {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise AssertionError(f"failed in {self.path}:\n{done.stdout}\n{done.stderr}")
        return json.loads(done.stdout.splitlines()[-1])


def create_venv(path: Path, constraints: Path) -> Venv:
    """A virtualenv with nothing installed; outside this repository, or the test is moot."""
    if path.resolve().is_relative_to(ROOT):
        raise AssertionError(f"{path} is inside the repository")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120
    )
    return Venv(path, constraints)
