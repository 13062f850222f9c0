"""`--fix`: diff first, write only when asked, output that parses, mechanical rewrites only."""

import ast
import io
import shutil
from pathlib import Path

import pytest

from migration_checker import scan_project
from migration_checker.cli import main
from migration_checker.fix import DEFAULT_BROKER_IMPORT, TODO_MARK, FileFix, fix_project
from tests.checker.conftest import FIXTURE


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "celery_project"
    shutil.copytree(FIXTURE, target)
    return target


def _fixes(root: Path, broker_import: str = "tkq.broker:broker") -> dict[str, FileFix]:
    return {fix.path: fix for fix in fix_project(scan_project(root), broker_import)}


def test_fix_prints_a_diff_and_writes_nothing(project: Path) -> None:
    before = (project / "proj/tasks/arith.py").read_text()
    out = io.StringIO()
    main([str(project), "--fix"], out=out)
    assert "--- a/proj/tasks/arith.py\n+++ b/proj/tasks/arith.py" in out.getvalue()
    assert "re-run with --fix --write" in out.getvalue()
    assert (project / "proj/tasks/arith.py").read_text() == before


def test_fix_write_applies_the_diff(project: Path) -> None:
    expected = _fixes(project, DEFAULT_BROKER_IMPORT)["proj/tasks/arith.py"].new
    main([str(project), "--fix", "--write"], out=io.StringIO())
    assert (project / "proj/tasks/arith.py").read_text() == expected


def test_every_rewritten_file_parses() -> None:
    fixes = _fixes(FIXTURE)
    assert len(fixes) >= 10
    for fix in fixes.values():
        ast.parse(fix.new, filename=fix.path)


def test_task_decorator_options_become_the_stacks_labels() -> None:
    new = _fixes(FIXTURE)["proj/tasks/arith.py"].new
    assert new.startswith(
        "from taskiq import TaskiqDepends\nfrom taskiq_durable.retry import Retries\n"
        "from tkq.broker import broker\n"
    )
    assert "from proj.celery_app import app" not in new
    # bind=True with `self` unused: the parameter goes and nothing replaces it. max_retries
    # without autoretry_for or a self.retry() call: Celery never retried, so neither does this.
    assert (
        "@broker.task(\n"
        '    task_name="proj.tasks.arith.add",\n'
        "    max_attempts=1,  # Celery retried only through self.retry(), never called here\n"
        "    time_limit=30,\n"
        '    schedule=[{"interval": 300, "args": [1, 1], "schedule_id": "heartbeat"}],\n'
        ")\n"
        "def add(x, y):\n"
    ) in new
    assert "acks_late" not in new


def test_self_request_retries_becomes_the_retries_dependency() -> None:
    new = _fixes(FIXTURE)["proj/tasks/arith.py"].new
    assert "def add_after_a_failure(x, y, *, retries: Retries=TaskiqDepends()):\n" in new
    assert "    if retries.retries == 0:\n" in new
    assert '    return {"sum": x + y, "retries": retries.retries}\n' in new
    reports = _fixes(FIXTURE)["proj/tasks/reports.py"].new
    # `raise self.retry(exc=exc, countdown=...)` is `raise exc`: the retry labels retry it.
    assert "def build_report(days):" in reports
    assert "    except ConnectionError as exc:\n        raise exc\n" in reports
    assert "raise self.retry" not in reports


def test_every_option_is_a_label_or_a_linked_todo() -> None:
    new = _fixes(FIXTURE)["proj/tasks/reports.py"].new
    assert (
        "@broker.task(\n"
        '    task_name="proj.tasks.reports.build_report",\n'
        "    max_attempts=4,  # Celery's max_retries=3 counted retries; this counts runs\n"
        "    types_of_exceptions=(ConnectionError,),\n"
        "    retry_base=1,  # Celery's backoff factor: first retry after this\n"
        "    retry_cap=600,  # Celery's default\n"
        "    time_limit=300,\n"
        "    soft_time_limit=240,\n"
        '    queue="reports",\n'
        '    rate_limit="10/m",\n'
        "    ignore_result=True,\n"
    ) in new
    for todo, section in (
        ("default_retry_delay=2: only self.retry() used it", "retries-and-backoff"),
        ("soft_time_limit=240: a sync task can't be stopped", "time-limits"),
        (
            'queue="reports" is not in the QUEUES setting\'s default (default,urgent)',
            "routing-and-priority",
        ),
        ('serializer="pickle": JSON only on this stack', "serialization"),
    ):
        line = next(line for line in new.splitlines() if todo in line)
        assert line.startswith(TODO_MARK)
        assert line.endswith(f"(docs/migration.md#{section})")
    assert '@broker.task(task_name="reports.crunch")' in new


def test_delay_is_awaited_only_in_async_callers() -> None:
    new = _fixes(FIXTURE)["proj/tasks/arith.py"].new
    assert "    result = await add.kiq(x, y)\n" in new
    assert "return (await result.wait_result(timeout=10)).raise_for_error().return_value" in new
    sync_part = new.split("def add_from_sync_code")[1]
    assert "TODO(migrate): caller is sync" in sync_part
    assert "return add.delay(x, y)" in sync_part


def test_apply_async_becomes_the_stacks_apply_async() -> None:
    new = _fixes(FIXTURE)["proj/calls.py"].new
    assert "from taskiq_durable.calling import apply_async\n" in new
    assert 'job = await apply_async(build_report, (days,), queue="reports")' in new
    assert "later = build_report.apply_async((days,), countdown=60" in new
    assert "apply_async options (link/link_error/...) need a decision" in new
    # Files without a rewritten task import no broker; files without kicks no apply_async.
    assert "tkq.broker" not in new
    assert "apply_async" not in _fixes(FIXTURE)["proj/tasks/arith.py"].new


def test_beat_entries_become_schedule_labels() -> None:
    fixes = _fixes(FIXTURE)
    reports = fixes["proj/tasks/reports.py"].new
    assert (
        'schedule=[{"cron": "0 8 * * *", "cron_offset": "UTC", "args": [7], '
        '"schedule_id": "daily-report"}]'
    ) in reports
    assert (
        'schedule=[{"cron": "*/30 * * * *", "cron_offset": "UTC", "schedule_id": "cleanup-cache"}]'
    ) in reports
    app_module = fixes["proj/celery_app.py"].new
    assert (
        "beat entries daily-report, cleanup-cache, heartbeat are now schedule labels" in app_module
    )
    assert "entry 'dynamic': schedule is not a literal crontab/interval" in app_module


def test_the_broker_import_defaults_to_this_stack(project: Path) -> None:
    out = io.StringIO()
    main([str(project), "--fix"], out=out)
    assert "+from tasks.broker import broker\n" in out.getvalue()
    custom = _fixes(project, "app.queue:tkq")["proj/tasks/arith.py"].new
    assert "from app.queue import tkq as broker\n" in custom


def test_a_malformed_broker_import_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(project), "--fix", "--broker-import", "tasks.broker"], out=io.StringIO())
    assert exit_info.value.code == 2
    assert "expected MODULE:NAME" in capsys.readouterr().err


def test_fixing_twice_adds_nothing(project: Path) -> None:
    argv = [str(project), "--fix", "--write", "--broker-import", "tkq.broker:broker"]
    main(argv, out=io.StringIO())
    assert _fixes(project) == {}
