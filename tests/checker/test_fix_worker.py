"""Tasks rewritten by --fix run on this stack's real worker, with the labels --fix wrote.

The fixture project is copied to a tmp dir and fixed in place with the default broker import
(`tasks.broker:broker`). The stack's worker (the Procfile's line, also importing
`proj.tasks.arith`, the tmp dir on PYTHONPATH) serves it on this test's Redis prefix. The test
imports the rewritten module too, so each kick carries the labels of the rewritten decorator,
and sends it through `client_broker`."""

import importlib
import io
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from taskiq import AsyncBroker

from migration_checker.cli import main
from tests.checker.conftest import FIXTURE
from tests.conftest import StartProcess
from tests.support.processes import worker_command

# Covers a cold worker start on the shared 2-core machine plus the 1 s retry delay.
RESULT_WAIT_SECONDS = 60
MODULE = "proj.tasks.arith"


@pytest.fixture
def fixed_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    main([str(project), "--fix", "--write"], out=io.StringIO())
    return project


@pytest.fixture
def rewritten(fixed_project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(fixed_project))
    module = importlib.import_module(MODULE)
    try:
        yield module
    finally:
        # Registered on the process-wide stack broker at import: leave it as it was.
        from tasks.broker import broker

        for name in [n for n in broker.local_task_registry if n.startswith("proj.")]:
            del broker.local_task_registry[name]
        for name in ("proj", "proj.tasks", MODULE):
            sys.modules.pop(name, None)


async def _run(task: Any, broker: AsyncBroker, *args: Any) -> Any:
    kicked = await task.kicker().with_broker(broker).kiq(*args)
    result = await kicked.wait_result(timeout=RESULT_WAIT_SECONDS)
    return result.raise_for_error().return_value


async def test_rewritten_tasks_run_and_retry_on_the_stacks_worker(
    fixed_project: Path, rewritten: ModuleType, start: StartProcess, client_broker: AsyncBroker
) -> None:
    # The labels --fix wrote for Celery's max_retries=1 / retry_backoff=True.
    assert rewritten.add_after_a_failure.labels["max_attempts"] == 2
    assert rewritten.add_after_a_failure.labels["retry_base"] == 1
    worker = start(
        "worker",
        worker_command(MODULE),
        WORKER_PROCESSES="1",
        WORKER_CONCURRENCY="4",
        DB_POOL_SIZE="2",
        DB_MAX_OVERFLOW="2",
        PYTHONPATH=str(fixed_project),
    )
    assert await _run(rewritten.add, client_broker, 2, 3) == 5
    # Fails on its first run (retries == 0), succeeds on the retry the rewritten labels allow.
    outcome = await _run(rewritten.add_after_a_failure, client_broker, 2, 3)
    assert outcome == {"sum": 5, "retries": 1}
    log = worker.log()
    assert "proj.tasks.arith.add_after_a_failure" in log
    assert "failed (attempt 1/2): retrying in 1.000s" in log
