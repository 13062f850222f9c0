"""The speed benchmark's generator makes a scannable Celery project (timing lives in bench/)."""

from pathlib import Path

from bench.checker_speed import generate_project
from migration_checker import scan_project


def test_generated_project_is_scanned_with_its_patterns(tmp_path: Path) -> None:
    lines = generate_project(tmp_path, 2_000)
    result = scan_project(tmp_path)
    assert lines >= 2_000
    assert result.lines >= 2_000
    rules = {f.rule_id for f in result.findings}
    assert {"task-definition", "delay", "canvas", "loop-bridge", "connection-budget"} <= rules
    assert "parse-error" not in rules
