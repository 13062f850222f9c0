"""The checker on patterns of public Celery projects (tests/checker/fixtures/real_world/, each
folder's README names the project whose shapes it models): tasks under their Celery names,
settings as Celery reads them, hazards through the call graph, and a --fix whose every
output compiles, leaves no name undefined and keeps retry counts, delays and timezone."""

import ast
import builtins
import symtable
from pathlib import Path

import pytest

from migration_checker import ScanResult, scan_project
from migration_checker.fix import FileFix, fix_project
from migration_checker.parsing import lower_source

REAL_WORLD = Path(__file__).parent / "fixtures" / "real_world"

TASKS = {
    "django_shop": {
        "shop.product.tasks.delete_empty_allocations",
        "shop.product.tasks.update_search_vectors",
        "shop.product.tasks.recalculate_discounted_price",
        "shop.product.tasks.export_products",
        "webhook.send",
    },
    # src/ layout: the worker imports `documents`, so Celery never says `src.documents`.
    "document_app": {"documents.tasks.train_classifier", "documents.tasks.consume_file"},
    # An app made by a factory, used as `worker.celery_app.task(name=...)`.
    "fastapi_service": {"users.sync", "rates.refresh", "users.notify"},
    # `celery = make_celery(app)`, `@celery.task` and Celery 3's `@periodic_task`.
    "flask_app": {"app.jobs.ping", "app.jobs.purge_sessions"},
}


@pytest.fixture(scope="module", params=sorted(TASKS))
def project(request: pytest.FixtureRequest) -> tuple[str, ScanResult]:
    name = str(request.param)
    return name, scan_project(REAL_WORLD / name)


def _fixes(name: str) -> dict[str, FileFix]:
    return {fix.path: fix for fix in fix_project(scan_project(REAL_WORLD / name))}


def _messages(result: ScanResult, rule_id: str) -> list[tuple[str, str]]:
    return [(f.path, f.message) for f in result.findings if f.rule_id == rule_id]


def test_every_fixture_names_the_project_it_models() -> None:
    assert set(TASKS) == {p.name for p in REAL_WORLD.iterdir() if p.is_dir()}
    for name in TASKS:
        assert "modelled on" in (REAL_WORLD / name / "README.md").read_text()


def test_every_task_is_found_under_its_celery_name(project: tuple[str, ScanResult]) -> None:
    name, result = project
    assert {t.celery_name for m in result.modules for t in m.tasks} == TASKS[name]
    assert _messages(result, "parse-error") == []


def _unbound(text: str) -> set[str]:
    """Names read but bound nowhere in the module (builtins aside): an independent check of
    what --fix must not introduce."""
    builtin = set(dir(builtins))
    top = symtable.symtable(text, "<fixed>", "exec")
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    missing: set[str] = set()
    tables = [top]
    while tables:
        table = tables.pop()
        tables += table.get_children()
        for symbol in table.get_symbols():
            name = symbol.get_name()
            if symbol.is_referenced() and symbol.is_global() and name not in bound | builtin:
                missing.add(name)
    return missing


def test_fix_output_compiles_and_defines_every_name(project: tuple[str, ScanResult]) -> None:
    name, _ = project
    fixes = _fixes(name)
    assert fixes
    for fix in fixes.values():
        # Files in 3.12+ syntax are checked on the same lowering the scanner parses.
        new, old = fix.new, fix.old
        try:
            compile(old, fix.path, "exec", dont_inherit=True)
        except SyntaxError:
            new, old = lower_source(new), lower_source(old)
        compile(new, fix.path, "exec", dont_inherit=True)
        assert _unbound(new) <= _unbound(old), fix.path
        ast.parse(new)


def test_retry_counts_and_delays_are_kept() -> None:
    tasks = _fixes("django_shop")["shop/product/tasks.py"].new
    # self.retry(countdown=2 ** self.request.retries), max_retries=5: 1, 2, 4, 8, 16 s.
    assert (
        '    task_name="shop.product.tasks.update_search_vectors",\n'
        "    max_attempts=6,  # Celery's max_retries=5 counted retries; this counts runs\n"
        "    types_of_exceptions=(ConnectionError,),"
        "  # the exceptions self.retry() was called for\n"
        "    retry_base=1,  # self.retry(countdown=2 ** self.request.retries)\n"
        "    retry_cap=16,  # its largest delay: Celery did not cap it\n"
        "    retry_jitter=False,\n"
    ) in tasks
    assert "    except ConnectionError as exc:\n" in tasks
    assert "        raise exc\n" in tasks
    # retry_kwargs={"max_retries": 5} is five retries, six runs; not Celery's default 3.
    assert (
        'task_name="shop.product.tasks.recalculate_discounted_price",\n'
        "    max_attempts=6,  # Celery's max_retries=5 counted retries; this counts runs\n"
    ) in tasks
    # retry_backoff without autoretry_for: Celery never retried, so neither does the label.
    assert (
        'task_name="shop.product.tasks.export_products",\n'
        "    max_attempts=1,  # Celery retried only through self.retry(), never called here\n"
    ) in tasks


def test_a_multi_line_option_becomes_a_one_line_todo() -> None:
    tasks = _fixes("django_shop")["shop/product/tasks.py"].new
    todo = next(line for line in tasks.splitlines() if "throws=" in line)
    assert todo.startswith("# TODO(migrate): throws=( AllocationError, LookupError, ):")


def test_the_timezone_is_carried_into_cron_labels() -> None:
    tasks = _fixes("django_shop")["shop/product/tasks.py"].new
    assert (
        'schedule=[{"cron": "0 3 * * *", "cron_offset": "Europe/Warsaw", '
        '"schedule_id": "delete-empty-allocations"}]'
    ) in tasks
    jobs = _fixes("flask_app")["app/jobs.py"].new
    assert '"cron": "0 */6 * * *", "cron_offset": "America/New_York"' in jobs
    assert '"interval": 10, "args": [\'hello\'], "schedule_id": "ping every 10"' in jobs
    assert "run_every" not in jobs


def test_annotated_and_namespaced_settings_are_read() -> None:
    result = scan_project(REAL_WORLD / "document_app")
    # CELERY_TASK_TIME_LIMIT: Final[int] = ... is a global time limit.
    assert _messages(result, "no-time-limit") == []
    assert ("src/archive/settings.py", "setting CELERY_WORKER_CONCURRENCY") in _messages(
        result, "concurrency"
    )
    shop = scan_project(REAL_WORLD / "django_shop")
    settings = {f.message for f in shop.findings if f.path == "shop/settings.py"}
    assert not any("CELERY_QUEUE_PREFIX" in m or "celery_app_label" in m for m in settings)


def test_self_conf_in_a_celery_subclass_is_configuration() -> None:
    result = scan_project(REAL_WORLD / "flask_app")
    assert _messages(result, "pickle-serializer") == [
        ("app/__init__.py", "task_serializer allows pickle")
    ]


def test_the_route_reads_task_id_from_the_kick() -> None:
    views = _fixes("django_shop")["shop/webhook/views.py"].new
    assert "    r = await send_webhook.kiq(url, payload)\n" in views
    assert '    return {"id": r.task_id}\n' in views


def test_hazards_through_the_call_graph_and_signals() -> None:
    result = scan_project(REAL_WORLD / "fastapi_service")
    bridges = _messages(result, "loop-bridge")
    assert (
        "app/worker/helpers.py",
        "asyncio.run() reached from task(s) refresh_rates via refresh → run_now()",
    ) in bridges
    assert any(
        path == "app/worker/loop.py" and "run_coroutine_threadsafe" in m for path, m in bridges
    )
    assert any("run_until_complete" in m for _, m in bridges)
    loops = _messages(result, "worker-loop")
    assert {m.split("(")[0] for _, m in loops} == {"asyncio.new_event_loop", "threading.Thread"}
    assert _messages(result, "blocking-io") == [
        (
            "app/worker/tasks.py",
            "requests.get() blocks the worker's loop in async task(s) sync_user",
        )
    ]
    # sync_webhook in django_shop stays sync: its requests.post blocks nothing but itself.
    assert _messages(scan_project(REAL_WORLD / "django_shop"), "blocking-io") == []


def test_the_budget_counts_a_thread_pool_once_and_skips_tests_and_scripts(
    tmp_path: Path,
) -> None:
    result = scan_project(REAL_WORLD / "fastapi_service")
    # web -w 4 and a -P threads worker are exclusive case arms: 4 processes x 15 < 100.
    assert _messages(result, "connection-budget") == []
    (tmp_path / "entrypoint.sh").write_text(
        "#!/bin/sh\ngunicorn app:api -w 4\ncelery -A app worker -c 8\n"
    )
    (tmp_path / "db.py").write_text(
        "from sqlalchemy import create_engine\n"
        "engine = create_engine('postgresql://db', pool_size=10, max_overflow=5)\n"
    )
    (message,) = [m for _, m in _messages(scan_project(tmp_path), "connection-budget")]
    assert message.startswith("12 processes × (pool_size 10 + max_overflow 5) = 180")
