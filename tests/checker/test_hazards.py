"""Every hazard listed in issue 9 is flagged in the fixture project, and not where it is not."""

import pytest

from migration_checker import ScanResult
from migration_checker.findings import Finding
from tests.checker.conftest import line_of

HAZARDS = [
    ("module-async-resource", "proj/db.py", "engine = create_async_engine("),
    ("module-async-resource", "proj/db.py", "redis_client = aioredis.Redis.from_url("),
    ("module-async-resource", "proj/db.py", "worker_loop = asyncio.new_event_loop()"),
    ("loop-bridge", "proj/tasks/reports.py", "run_until_complete(inner())"),
    ("loop-bridge", "proj/tasks/reports.py", "return asyncio.run(asyncio.sleep(0))"),
    ("loop-bridge", "proj/helpers.py", "return worker_loop.run_until_complete(coro)"),
    ("process-pool-in-task", "proj/tasks/reports.py", "multiprocessing.Pool(4)"),
    ("pickle-serializer", "proj/celery_app.py", 'task_serializer="pickle"'),
    ("pickle-serializer", "proj/celery_app.py", 'accept_content=["pickle", "json"]'),
    ("pickle-serializer", "proj/tasks/reports.py", 'serializer="pickle",'),
    ("pickle-serializer", "proj/web.py", "serializer=PickleSerializer()"),
    ("no-time-limit", "proj/tasks/reports.py", "def cleanup_cache():"),
    ("no-time-limit", "proj/tasks/reports.py", "def notify(user_id):"),
    ("results-never-expire", "proj/celery_app.py", "result_expires=None"),
    ("results-never-expire", "proj/web.py", "RedisAsyncResultBackend("),
    ("in-process-runner", "proj/web.py", "run_scheduler_task(app.state.scheduler)"),
    ("in-process-runner", "proj/web.py", "run_receiver_task(app.state.broker)"),
    ("in-process-runner", "proj/web.py", "celery_app.worker_main("),
    ("in-process-runner", "Procfile", " -B"),
    ("startup-one-time-work", "proj/signals.py", "download_model("),
    ("startup-one-time-work", "proj/web.py", "await create_root_user()"),
    ("connection-budget", "proj/db.py", "engine = create_async_engine("),
    ("connection-budget", "proj/signals.py", "engine = create_async_engine("),
    ("preload-fork", "Procfile", "--preload"),
    ("swallowed-task-error", "proj/tasks/reports.py", "except Exception:"),
]


def _on(result: ScanResult, rule_id: str, path: str) -> list[Finding]:
    return [f for f in result.findings if f.rule_id == rule_id and f.path == path]


@pytest.mark.parametrize(("rule_id", "path", "snippet"), HAZARDS)
def test_hazard_is_flagged(fixture_scan: ScanResult, rule_id: str, path: str, snippet: str) -> None:
    lines = [line_of(fixture_scan, f.path, f.line) for f in _on(fixture_scan, rule_id, path)]
    assert any(snippet in line for line in lines), lines


def test_tasks_with_a_time_limit_are_not_flagged(fixture_scan: ScanResult) -> None:
    flagged = {f.message.split()[1] for f in fixture_scan.findings if f.rule_id == "no-time-limit"}
    assert flagged == {"cleanup_cache", "crunch", "notify"}


def test_a_loop_helper_no_task_calls_is_not_flagged(fixture_scan: ScanResult) -> None:
    lines = [
        line_of(fixture_scan, f.path, f.line)
        for f in _on(fixture_scan, "loop-bridge", "proj/helpers.py")
    ]
    assert lines == ["    return worker_loop.run_until_complete(coro)"]


def test_connection_budget_shows_its_arithmetic(fixture_scan: ScanResult) -> None:
    (finding,) = _on(fixture_scan, "connection-budget", "proj/db.py")
    assert finding.message.startswith(
        "18 processes × (pool_size 20 + max_overflow 10) = 540 > max_connections 100"
    )


def test_module_resources_name_the_task_module_that_imports_them(fixture_scan: ScanResult) -> None:
    messages = {f.message for f in _on(fixture_scan, "module-async-resource", "proj/db.py")}
    assert all("imported by task module proj/tasks/" in m for m in messages)
    # signals.py creates its engine inside the worker_process_init handler: not import time.
    assert _on(fixture_scan, "module-async-resource", "proj/signals.py") == []
