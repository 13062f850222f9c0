"""`--fix`: diff first, write only when asked, output that parses, mechanical rewrites only."""

import ast
import io
import shutil
from pathlib import Path

import pytest

from migration_checker import scan_project
from migration_checker.cli import main
from migration_checker.fix import TODO_MARK, FileFix, fix_project
from tests.checker.conftest import FIXTURE


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "celery_project"
    shutil.copytree(FIXTURE, target)
    return target


def _fixes(root: Path, broker_import: str | None = "tkq.broker:broker") -> dict[str, FileFix]:
    return {fix.path: fix for fix in fix_project(scan_project(root), broker_import)}


def test_fix_prints_a_diff_and_writes_nothing(project: Path) -> None:
    before = (project / "proj/tasks/arith.py").read_text()
    out = io.StringIO()
    main([str(project), "--fix"], out=out)
    assert "--- a/proj/tasks/arith.py\n+++ b/proj/tasks/arith.py" in out.getvalue()
    assert "re-run with --fix --write" in out.getvalue()
    assert (project / "proj/tasks/arith.py").read_text() == before


def test_fix_write_applies_the_diff(project: Path) -> None:
    expected = _fixes(project, None)["proj/tasks/arith.py"].new
    main([str(project), "--fix", "--write"], out=io.StringIO())
    assert (project / "proj/tasks/arith.py").read_text() == expected


def test_every_rewritten_file_parses() -> None:
    fixes = _fixes(FIXTURE)
    assert len(fixes) >= 10
    for fix in fixes.values():
        ast.parse(fix.new, filename=fix.path)


def test_task_decorator_options_become_labels() -> None:
    new = _fixes(FIXTURE)["proj/tasks/arith.py"].new
    assert new.startswith(
        "from taskiq import Context, TaskiqDepends\nfrom tkq.broker import broker\n"
    )
    assert "from proj.celery_app import app" not in new
    assert (
        "@broker.task(\n"
        "    retry_on_error=True,\n"
        "    max_retries=3,\n"
        "    timeout=30,\n"
        '    ack_type="when_executed",\n'
        '    schedule=[{"interval": 300, "args": [1, 1]}],\n'
        ")\n"
        "def add(x, y, *, context: Context=TaskiqDepends()):\n"
    ) in new


def test_options_without_a_label_leave_todos() -> None:
    new = _fixes(FIXTURE)["proj/tasks/reports.py"].new
    for todo in (
        "retry_backoff=True: backoff is SmartRetryMiddleware",
        "soft_time_limit=240: no soft limit",
        'queue_name="reports": a worker must consume this stream',
        'rate_limit="10/m": no built-in rate limit',
        "bind=True: `self` is gone",
    ):
        assert f"{TODO_MARK} {todo}" in new
    assert "types_of_exceptions=(ConnectionError,)" in new
    assert '@broker.task(task_name="reports.crunch")' in new


def test_delay_is_awaited_only_in_async_callers() -> None:
    new = _fixes(FIXTURE)["proj/tasks/arith.py"].new
    assert "    result = await add.kiq(x, y)\n" in new
    assert "return (await result.wait_result(timeout=10)).raise_for_error().return_value" in new
    sync_part = new.split("def add_from_sync_code")[1]
    assert "TODO(migrate): caller is sync" in sync_part
    assert "return add.delay(x, y)" in sync_part


def test_apply_async_with_queue_uses_a_kicker_and_timing_options_are_flagged() -> None:
    new = _fixes(FIXTURE)["proj/calls.py"].new
    assert 'job = await build_report.kicker().with_labels(queue_name="reports").kiq(days)' in new
    assert "later = build_report.apply_async((days,), countdown=60" in new
    assert "apply_async options (countdown/eta/link/...) need a decision" in new


def test_beat_entries_become_schedule_labels() -> None:
    fixes = _fixes(FIXTURE)
    reports = fixes["proj/tasks/reports.py"].new
    assert 'schedule=[{"cron": "0 8 * * *", "args": [7]}]' in reports
    assert '@broker.task(schedule=[{"cron": "*/30 * * * *"}])' in reports
    app_module = fixes["proj/celery_app.py"].new
    assert (
        "beat entries daily-report, cleanup-cache, heartbeat are now schedule labels" in app_module
    )
    assert "entry 'dynamic': schedule is not a literal crontab/interval" in app_module


def test_without_broker_import_a_todo_asks_for_it() -> None:
    new = _fixes(FIXTURE, None)["proj/tasks/arith.py"].new
    assert f"{TODO_MARK} import the TaskIQ broker as `broker`" in new


def test_fixing_twice_adds_nothing(project: Path) -> None:
    argv = [str(project), "--fix", "--write", "--broker-import", "tkq.broker:broker"]
    main(argv, out=io.StringIO())
    assert _fixes(project) == {}
