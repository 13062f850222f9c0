"""The import-linter contracts of pyproject.toml (`[tool.importlinter]`) hold: the library imports
nothing of the stack, and only the stack and the library's `sql` extra import SQLAlchemy and
FastAPI. Run here so that `make test` fails on a broken contract."""

import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_import_contracts_are_kept() -> None:
    run = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
