"""Every construct listed in issue 9 is recognised in the fixture project, on the right line."""

from pathlib import Path

import pytest

from migration_checker import ScanResult, scan_project
from tests.checker.conftest import line_of

# (rule, file, a piece of the source line it must be reported on)
CONSTRUCTS = [
    ("celery-app", "proj/celery_app.py", 'app = Celery("proj"'),
    ("config-from-object", "proj/celery_app.py", "app.config_from_object("),
    ("acks-late", "proj/celery_app.py", "app.conf.task_acks_late = True"),
    ("acks-late", "proj/celery_app.py", "app.conf.worker_prefetch_multiplier = 1"),
    ("worker-recycling", "proj/celery_app.py", 'app.conf["worker_max_memory_per_child"]'),
    ("worker-recycling", "proj/celery_app.py", "worker_max_tasks_per_child=100"),
    ("app-conf", "proj/celery_app.py", 'timezone="UTC"'),
    ("task-routes", "proj/celery_app.py", "app.conf.task_routes = {"),
    ("beat-schedule", "proj/celery_app.py", '"daily-report": {'),
    ("beat-schedule", "proj/celery_app.py", '"heartbeat": {'),
    ("settings-module", "proj/celeryconfig.py", "broker_url ="),
    ("concurrency", "proj/celeryconfig.py", "worker_concurrency = 4"),
    ("eager-testing", "proj/celeryconfig.py", "task_always_eager = False"),
    ("serializer", "proj/celeryconfig.py", 'result_serializer = "json"'),
    ("task-definition", "proj/tasks/reports.py", "def build_report(self, days):"),
    ("task-definition", "proj/tasks/reports.py", "def cleanup_cache():"),
    ("task-bind", "proj/tasks/reports.py", "bind=True,"),
    ("retry", "proj/tasks/reports.py", "max_retries=3,"),
    ("retry", "proj/tasks/reports.py", "autoretry_for=(ConnectionError,),"),
    ("retry", "proj/tasks/reports.py", "retry_backoff=True,"),
    ("time-limit", "proj/tasks/reports.py", "time_limit=300,"),
    ("time-limit", "proj/tasks/reports.py", "soft_time_limit=240,"),
    ("routing", "proj/tasks/reports.py", 'queue="reports",'),
    ("rate-limit", "proj/tasks/reports.py", 'rate_limit="10/m",'),
    ("ignore-result", "proj/tasks/reports.py", "ignore_result=True,"),
    ("acks-late", "proj/tasks/reports.py", "acks_late=True,"),
    ("retry-call", "proj/tasks/reports.py", "raise self.retry("),
    ("task-option", "proj/tasks/reports.py", '@shared_task(name="reports.crunch")'),
    ("delay", "proj/calls.py", "build_report.delay(days)"),
    ("apply-async", "proj/calls.py", 'apply_async(args=(days,), queue="reports")'),
    ("apply-async", "proj/calls.py", "countdown=60"),
    ("signature", "proj/calls.py", "link_error=notify.s(0)"),
    ("signature", "proj/calls.py", "notify.si(1)"),
    ("signature", "proj/calls.py", 'signature("proj.tasks.arith.add"'),
    ("canvas", "proj/calls.py", "pipeline = chain("),
    ("canvas", "proj/calls.py", "fanout = group("),
    ("canvas", "proj/calls.py", "joined = chord("),
    ("canvas", "proj/calls.py", "piped = add.s(1, 1) | add.s(2)"),
    ("async-result", "proj/calls.py", "result = AsyncResult(task_id, app=app)"),
    ("async-result", "proj/calls.py", "also = app.AsyncResult(task_id)"),
    ("result-access", "proj/calls.py", "value = outcome.get(timeout=10)"),
    ("result-access", "proj/calls.py", "print(outcome.state, outcome.ready())"),
    ("revoke", "proj/calls.py", "outcome.revoke(terminate=True)"),
    ("revoke", "proj/calls.py", "app.control.revoke(task_id"),
    ("signal", "proj/signals.py", "@worker_process_init.connect"),
    ("signal", "proj/signals.py", "@task_prerun.connect"),
    ("signal", "proj/signals.py", "task_postrun.connect(after)"),
    ("signal", "proj/signals.py", "@task_failure.connect(sender=None)"),
    ("eager-testing", "proj/tests_celery.py", "from celery.contrib.testing"),
    ("eager-testing", "proj/tests_celery.py", "add.apply(args=(1, 2))"),
    ("worker-command", "Procfile", "worker: celery -A proj.celery_app worker"),
    ("routing", "Procfile", "-Q default,reports"),
    ("beat-command", "Procfile", "celery -A proj.celery_app beat"),
    ("worker-command", "docker-compose.yml", '"worker", "--concurrency"'),
    ("diagnosis-tool", "docker-compose.yml", '"flower", "--port=5555"'),
    ("worker-command", "docker/entrypoint.sh", "exec celery -A proj.celery_app worker"),
    ("worker-recycling", "docker/entrypoint.sh", "--max-memory-per-child"),
    ("diagnosis-tool", "scripts/diagnose.sh", "inspect active"),
    ("diagnosis-tool", "scripts/diagnose.sh", "flower --port=5555"),
    ("diagnosis-tool", "scripts/stats.py", '"inspect", "active"'),
]


@pytest.mark.parametrize(("rule_id", "path", "snippet"), CONSTRUCTS)
def test_construct_is_found(
    fixture_scan: ScanResult, rule_id: str, path: str, snippet: str
) -> None:
    lines = {
        line_of(fixture_scan, f.path, f.line)
        for f in fixture_scan.findings
        if f.rule_id == rule_id and f.path == path
    }
    assert any(snippet in line for line in lines), sorted(lines)


def test_get_on_a_dict_is_not_a_result(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        "from celery import shared_task\n\n"
        "@shared_task(time_limit=5)\n"
        "def job(data):\n"
        "    handle = job.delay(1)\n"
        "    return data.get('key'), handle.get()\n"
    )
    found = [(f.rule_id, f.column) for f in scan_project(tmp_path).findings]
    assert ("result-access", 29) in found
    assert [rule for rule, _ in found].count("result-access") == 1


def test_delay_message_says_whether_the_caller_is_async(fixture_scan: ScanResult) -> None:
    delays = {
        line_of(fixture_scan, f.path, f.line).strip(): f.message
        for f in fixture_scan.findings
        if f.rule_id == "delay" and f.path == "proj/tasks/arith.py"
    }
    assert delays == {
        "result = add.delay(x, y)": "add.delay() (async def: mechanical)",
        "return add.delay(x, y)": "add.delay() (sync caller: decide)",
    }
