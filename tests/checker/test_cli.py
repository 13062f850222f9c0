"""The command: exit codes, --fail-on, bad paths, unparsable files, skipped folders."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from migration_checker.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from tests.checker.conftest import FIXTURE

CLEAN_TASK = (
    "from celery import shared_task\n\n@shared_task(time_limit=5)\ndef job():\n    return 1\n"
)


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_python_dash_m_prints_the_report() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "migration_checker", str(FIXTURE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_FAILED
    assert "Celery → TaskIQ migration report" in done.stdout


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [("never", EXIT_OK), ("error", EXIT_FAILED), ("hazard", EXIT_FAILED), ("any", EXIT_FAILED)],
)
def test_fail_on_with_hazards(fail_on: str, expected: int) -> None:
    assert _run(str(FIXTURE), "--fail-on", fail_on)[0] == expected


@pytest.mark.parametrize(
    ("fail_on", "expected"), [("hazard", EXIT_OK), ("error", EXIT_OK), ("any", EXIT_FAILED)]
)
def test_fail_on_with_constructs_only(tmp_path: Path, fail_on: str, expected: int) -> None:
    (tmp_path / "tasks.py").write_text(CLEAN_TASK)
    assert _run(str(tmp_path), "--fail-on", fail_on)[0] == expected


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(str(tmp_path / "nope"))
    assert code == EXIT_USAGE
    assert out == ""
    assert "no such file or directory" in capsys.readouterr().err


def test_unparsable_file_is_reported_not_fatal(tmp_path: Path) -> None:
    # Only files that mention Celery are parsed; a broken one is reported, not fatal.
    (tmp_path / "broken.py").write_text("from celery import shared_task\ndef broken(:\n    pass\n")
    (tmp_path / "tasks.py").write_text(CLEAN_TASK)
    code, out = _run(str(tmp_path), "--json")
    findings = json.loads(out)["findings"]
    rules = {(f["path"], f["rule_id"]) for f in findings}
    assert ("broken.py", "parse-error") in rules
    assert ("tasks.py", "task-definition") in rules
    assert code == EXIT_FAILED


def test_vendored_and_tool_folders_are_skipped(tmp_path: Path) -> None:
    for folder in (".venv/lib", "node_modules/pkg", ".git/hooks", "src"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "tasks.py").write_text(CLEAN_TASK)
    _, out = _run(str(tmp_path), "--json")
    assert {f["path"] for f in json.loads(out)["findings"]} == {"src/tasks.py"}


def test_a_single_file_can_be_scanned() -> None:
    code, out = _run(str(FIXTURE / "proj" / "tasks" / "arith.py"), "--json")
    assert {f["path"] for f in json.loads(out)["findings"]} == {"arith.py"}
    assert code == EXIT_OK


def test_write_needs_fix() -> None:
    with pytest.raises(SystemExit) as exc:
        _run(str(FIXTURE), "--write")
    assert exc.value.code == EXIT_USAGE
