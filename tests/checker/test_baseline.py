"""The checker run on this repo's own Celery baseline (bench/celery_baseline) finds its patterns."""

from pathlib import Path

import pytest

from migration_checker import ScanResult, scan_project

BASELINE = Path(__file__).parents[2] / "bench" / "celery_baseline"


@pytest.fixture(scope="module")
def baseline() -> ScanResult:
    assert BASELINE.is_dir(), f"{BASELINE} is missing"
    return scan_project(BASELINE)


def _messages(result: ScanResult, rule_id: str) -> list[str]:
    return [f.message for f in result.findings if f.rule_id == rule_id]


def test_finds_the_worker_process_init_signal(baseline: ScanResult) -> None:
    assert any("worker_process_init" in m for m in _messages(baseline, "signal"))


def test_finds_run_until_complete_in_tasks(baseline: ScanResult) -> None:
    assert any("run_until_complete" in m for m in _messages(baseline, "loop-bridge"))


def test_finds_the_app_task_definitions(baseline: ScanResult) -> None:
    assert len(_messages(baseline, "task-definition")) >= 1


def test_finds_acks_late_and_prefetch_config(baseline: ScanResult) -> None:
    messages = _messages(baseline, "acks-late")
    assert any("task_acks_late" in m for m in messages)
    assert any("prefetch_multiplier" in m for m in messages)
